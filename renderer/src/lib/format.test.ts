import { describe, expect, it } from 'vitest';
import { formatDuration, formatPercent, formatRate, formatRateTicks, topClasses } from './format.ts';

describe('formatting', () => {
  it('formats durations as m:ss or h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(Number.NaN)).toBe('—');
  });

  it('formats learning rates compactly', () => {
    expect(formatRate(0.001)).toBe('1e-3');
    expect(formatRate(0.00025)).toBe('2.5e-4');
    expect(formatRate(0.1)).toBe('0.1');
  });

  it('formats percentages and picks the top classes', () => {
    expect(formatPercent(0.98346)).toBe('98.35%');
    expect(topClasses([0.1, 0.6, 0.05, 0.25], 3)).toEqual([
      { digit: 1, probability: 0.6 },
      { digit: 3, probability: 0.25 },
      { digit: 0, probability: 0.1 },
    ]);
  });

  it('writes learning-rate ticks in one notation per axis', () => {
    expect(formatRateTicks([0.002, 0.004, 0.006, 0.008, 0.01])).toEqual(['2e-3', '4e-3', '6e-3', '8e-3', '1e-2']);
    expect(formatRateTicks([0.05, 0.1, 0.15])).toEqual(['0.05', '0.1', '0.15']);
  });
});
