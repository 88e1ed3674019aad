/**
 * Runs an async job with the latest value pushed, at most once per `interval` ms and never two at
 * once: pushes that arrive meanwhile replace each other, and the last one always runs. Used for
 * the drawing pad's live prediction (a stroke pushes dozens of drawings a second).
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => performance.now(),
};

export class LatestThrottle<T> {
  readonly #run: (value: T) => Promise<void>;
  readonly #interval: number;
  readonly #timers: Timers;
  #pending: { value: T } | null = null;
  #running = false;
  #lastStart = -Infinity;
  #timer: unknown = null;

  constructor(run: (value: T) => Promise<void>, interval: number, timers: Timers = realTimers) {
    this.#run = run;
    this.#interval = interval;
    this.#timers = timers;
  }

  push(value: T): void {
    this.#pending = { value };
    this.#schedule();
  }

  /** Forgets a value not yet run (e.g. the drawing was cleared). */
  cancel(): void {
    this.#pending = null;
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#running || this.#timer !== null || !this.#pending) return;
    const wait = Math.max(0, this.#lastStart + this.#interval - this.#timers.now());
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      void this.#start();
    }, wait);
  }

  async #start(): Promise<void> {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = null;
    this.#running = true;
    this.#lastStart = this.#timers.now();
    try {
      await this.#run(pending.value);
    } catch {
      // The job reports its own errors; the throttle only keeps going.
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }
}
