/**
 * The prediction pane's state: files go to main in chunks (so dozens of pictures never freeze
 * the window or make one giant message), results arrive card by card, and one bad file gets its
 * own error while the others succeed.
 */
import { chunk } from '../lib/chunks.ts';
import type { ImageUpload, PredictionItem, StudioApi } from '../lib/contract.ts';
import { errorMessage } from '../lib/errors.ts';
import type { PickedFile } from '../lib/imageFiles.ts';

export const FILES_PER_REQUEST = 16;
/** Larger files are refused here rather than shipped to main (a digit picture is far smaller). */
export const MAX_FILE_BYTES = 25 * 1024 * 1024;

export interface PredictionCard {
  id: number;
  item: PredictionItem;
  /** Object URL of the original picture, for the thumbnail (null when it could not be made). */
  thumbnail: string | null;
}

export interface Progress {
  done: number;
  total: number;
}

/** Object URLs are injectable so tests (jsdom has none) can count them. */
export interface UrlFactory {
  create(blob: Blob): string | null;
  revoke(url: string): void;
}

const browserUrls: UrlFactory = {
  create: (blob) => (typeof URL.createObjectURL === 'function' ? URL.createObjectURL(blob) : null),
  revoke: (url) => {
    if (typeof URL.revokeObjectURL === 'function') URL.revokeObjectURL(url);
  },
};

function failure(name: string, error: string): PredictionItem {
  return { name, ok: false, error };
}

export class Predictions {
  cards = $state.raw<PredictionCard[]>([]);
  progress = $state.raw<Progress | null>(null);

  readonly #api: StudioApi;
  readonly #urls: UrlFactory;
  #nextId = 1;
  #queue: Promise<void> = Promise.resolve();

  constructor(api: StudioApi, urls: UrlFactory = browserUrls) {
    this.#api = api;
    this.#urls = urls;
  }

  get busy(): boolean {
    return this.progress !== null;
  }

  get items(): PredictionItem[] {
    return this.cards.map((card) => card.item);
  }

  /** Queues files for prediction; resolves when these (and any queued before) are done. */
  predict(files: readonly PickedFile[]): Promise<void> {
    if (files.length === 0) return this.#queue;
    const progress = this.progress ?? { done: 0, total: 0 };
    this.progress = { done: progress.done, total: progress.total + files.length };
    this.#queue = this.#queue.then(() => this.#run(files));
    return this.#queue;
  }

  clear(): void {
    for (const card of this.cards) if (card.thumbnail) this.#urls.revoke(card.thumbnail);
    this.cards = [];
  }

  async #run(files: readonly PickedFile[]): Promise<void> {
    for (const group of chunk(files, FILES_PER_REQUEST)) {
      const items = await this.#predictGroup(group);
      const cards = group.map((picked, i) => ({
        id: this.#nextId++,
        item: items[i],
        thumbnail: items[i].ok ? this.#urls.create(picked.file) : null,
      }));
      this.cards = [...this.cards, ...cards];
      const progress = this.progress ?? { done: 0, total: files.length };
      const done = progress.done + group.length;
      this.progress = done >= progress.total ? null : { done, total: progress.total };
    }
  }

  /** One request for up to FILES_PER_REQUEST files; returns one item per file, in order. */
  async #predictGroup(group: readonly PickedFile[]): Promise<PredictionItem[]> {
    const items: (PredictionItem | null)[] = group.map(() => null);
    const uploads: ImageUpload[] = [];
    const positions: number[] = [];
    await Promise.all(
      group.map(async (picked, i) => {
        if (picked.file.size > MAX_FILE_BYTES) {
          const mb = (picked.file.size / 1024 / 1024).toFixed(1);
          items[i] = failure(picked.name, `${picked.name}: the file is ${mb} MB; pictures up to ${MAX_FILE_BYTES / 1024 / 1024} MB are accepted.`);
          return;
        }
        try {
          const bytes = new Uint8Array(await picked.file.arrayBuffer());
          uploads[i] = { name: picked.name, bytes };
        } catch (error) {
          items[i] = failure(picked.name, `${picked.name}: could not read the file (${errorMessage(error)}).`);
        }
      }),
    );
    const toSend = group.map((_, i) => i).filter((i) => items[i] === null);
    for (const i of toSend) positions.push(i);
    if (positions.length > 0) {
      try {
        const results = await this.#api.predictImages({ files: positions.map((i) => uploads[i]) });
        positions.forEach((position, k) => {
          items[position] = results[k] ?? failure(group[position].name, `${group[position].name}: no result came back for this file.`);
        });
      } catch (error) {
        const message = errorMessage(error);
        for (const position of positions) items[position] = failure(group[position].name, message);
      }
    }
    return items as PredictionItem[];
  }
}
