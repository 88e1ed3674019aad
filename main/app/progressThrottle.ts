/**
 * At most one value per interval, and never a stale one: the first value goes out at once, later
 * ones within the interval wait for a trailing timer that sends the newest. flush() sends the
 * pending value now (before an epoch event, a pause, the end of a run).
 */
export interface ThrottleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const realClock: ThrottleClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

export class ProgressThrottle<T> {
  #pending: T | null = null;
  #lastSent = -Infinity;
  #timer: unknown = null;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (value: T) => void,
    private readonly clock: ThrottleClock = realClock,
  ) {}

  push(value: T): void {
    this.#pending = value;
    const wait = this.#lastSent + this.intervalMs - this.clock.now();
    if (wait <= 0) this.flush();
    else if (this.#timer === null) this.#timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  /** Sends the pending value, if any, now. */
  flush(): void {
    this.#cancelTimer();
    if (this.#pending === null) return;
    const value = this.#pending;
    this.#pending = null;
    this.#lastSent = this.clock.now();
    this.send(value);
  }

  /** Drops the pending value and forgets when the last one went out (a new run starts afresh). */
  reset(): void {
    this.#cancelTimer();
    this.#pending = null;
    this.#lastSent = -Infinity;
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
