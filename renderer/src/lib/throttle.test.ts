import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LatestThrottle } from './throttle.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const timers = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

describe('LatestThrottle (live prediction while drawing)', () => {
  it('runs at most once per interval, with the latest value, and always runs the last one', async () => {
    const seen: number[] = [];
    const throttle = new LatestThrottle(async (v: number) => void seen.push(v), 300, timers);
    for (let i = 1; i <= 10; i++) {
      throttle.push(i);
      await vi.advanceTimersByTimeAsync(50); // 10 pushes over 500 ms
    }
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen[0]).toBe(1);
    expect(seen.at(-1)).toBe(10);
    expect(seen.length).toBeLessThanOrEqual(3);
  });

  it('never runs two jobs at once: a slow job delays the next, which gets the newest value', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    const throttle = new LatestThrottle(
      async (v: number) => {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 1000));
        seen.push(v);
        running--;
      },
      100,
      timers,
    );
    throttle.push(1);
    await vi.advanceTimersByTimeAsync(10);
    throttle.push(2);
    throttle.push(3);
    await vi.advanceTimersByTimeAsync(5000);
    expect(most).toBe(1);
    expect(seen).toEqual([1, 3]);
  });

  it('cancel drops a value not yet run', async () => {
    const seen: number[] = [];
    const throttle = new LatestThrottle(async (v: number) => void seen.push(v), 300, timers);
    throttle.push(1);
    await vi.advanceTimersByTimeAsync(10);
    throttle.push(2);
    throttle.cancel();
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen).toEqual([1]);
  });
});
