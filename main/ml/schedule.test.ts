import { describe, expect, it } from 'vitest';
import { learningRateAt, movingAverageDecayAt } from './schedule.ts';

describe('learning-rate schedule (seed: 0.1 decayed 0.99 per 275 steps, staircase)', () => {
  const at = (step: number) => learningRateAt(step, 0.1, 0.99, 55_000 / 200);
  it('stays at the base rate through the first epoch', () => {
    expect(at(0)).toBe(0.1);
    expect(at(274)).toBe(0.1);
  });
  it('drops by exactly one factor at each epoch boundary', () => {
    expect(at(275)).toBeCloseTo(0.099, 12);
    expect(at(549)).toBeCloseTo(0.099, 12);
    expect(at(550)).toBeCloseTo(0.09801, 12);
  });
  it('matches 0.1 * 0.99^floor(step/275) at the end of the seed run', () => {
    expect(at(50_000)).toBeCloseTo(0.1 * Math.pow(0.99, 181), 12);
  });
});

describe('moving-average decay (TF num_updates rule)', () => {
  it('starts near 0.1 and follows (1 + n) / (10 + n) while that is below the cap', () => {
    expect(movingAverageDecayAt(0, 0.99)).toBeCloseTo(0.1, 12);
    expect(movingAverageDecayAt(10, 0.99)).toBeCloseTo(11 / 20, 12);
    expect(movingAverageDecayAt(890, 0.99)).toBeCloseTo(891 / 900, 12);
  });
  it('is capped by the configured decay once (1 + n) / (10 + n) exceeds it', () => {
    expect(movingAverageDecayAt(891, 0.99)).toBe(0.99);
    expect(movingAverageDecayAt(50_000, 0.99)).toBe(0.99);
  });
});
