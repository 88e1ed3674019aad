import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressThrottle } from './progressThrottle.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function throttled(intervalMs = 100) {
  const sent: number[] = [];
  const throttle = new ProgressThrottle<number>(intervalMs, (value) => sent.push(value));
  return { throttle, sent };
}

describe('ProgressThrottle', () => {
  it('sends the first value at once, then the newest one when the interval is over', () => {
    const { throttle, sent } = throttled();
    for (let step = 1; step <= 50; step++) throttle.push(step);
    expect(sent).toEqual([1]);
    vi.advanceTimersByTime(99);
    expect(sent).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([1, 50]);
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([1, 50]);
  });

  it('sends at once again after a quiet interval', () => {
    const { throttle, sent } = throttled();
    throttle.push(1);
    vi.advanceTimersByTime(150);
    throttle.push(2);
    expect(sent).toEqual([1, 2]);
  });

  it('flush sends the pending value now, once, and cancels the trailing timer', () => {
    const { throttle, sent } = throttled();
    throttle.push(1);
    throttle.push(2);
    throttle.flush();
    throttle.flush();
    expect(sent).toEqual([1, 2]);
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([1, 2]);
  });

  it('reset drops the pending value and lets the next one through at once', () => {
    const { throttle, sent } = throttled();
    throttle.push(1);
    throttle.push(2);
    throttle.reset();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual([1]);
    throttle.push(3);
    throttle.reset();
    throttle.push(4);
    expect(sent).toEqual([1, 3, 4]);
  });
});
