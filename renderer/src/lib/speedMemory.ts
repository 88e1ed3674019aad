/**
 * Training speed measured on this machine, per preset (images per second, the median of the last
 * few runs' epochs), kept in the window's local storage, so the form can say how long a run will
 * take before it starts. Nothing is guessed: a preset never run here has no estimate.
 */
import type { PresetName } from './contract.ts';

const KEY = 'digit-studio:training-speed';
/** How many recent measurements per preset are kept (their median is used). */
const KEEP = 5;

export interface SpeedStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function browserStore(): SpeedStore | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // storage blocked (privacy settings): no estimates
  }
}

export class SpeedMemory {
  readonly #store: SpeedStore | null;

  constructor(store: SpeedStore | null = browserStore()) {
    this.#store = store;
  }

  #read(): Partial<Record<PresetName, number[]>> {
    try {
      const parsed = JSON.parse(this.#store?.getItem(KEY) ?? '{}') as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as Partial<Record<PresetName, number[]>>) : {};
    } catch {
      return {};
    }
  }

  /** Remembers one measurement (images per second) for a preset. */
  record(preset: PresetName, imagesPerSecond: number): void {
    if (!this.#store || !(imagesPerSecond > 0) || !Number.isFinite(imagesPerSecond)) return;
    const all = this.#read();
    const list = [...(all[preset] ?? []).filter((v) => typeof v === 'number' && v > 0), imagesPerSecond].slice(-KEEP);
    try {
      this.#store.setItem(KEY, JSON.stringify({ ...all, [preset]: list }));
    } catch {
      // Storage full or blocked: the estimate just stays unknown.
    }
  }

  /** The median measured speed for a preset, or null when it never ran here. */
  speed(preset: PresetName): number | null {
    const list = (this.#read()[preset] ?? []).filter((v) => typeof v === 'number' && v > 0).sort((a, b) => a - b);
    return list.length === 0 ? null : list[Math.floor(list.length / 2)];
  }
}

/** Seconds a run of `images` training images (steps x batch) takes at `imagesPerSecond`. */
export function estimateSeconds(images: number, imagesPerSecond: number): number {
  return images / imagesPerSecond;
}
