import { describe, expect, it } from 'vitest';
import { downsample, MAX_DRAWN_POINTS, Smoother, TrainingCurves, type SeriesData } from './trainingCurves.ts';

const progress = (step: number, loss: number) => ({ type: 'progress' as const, step, epoch: 1, loss, learningRate: 0.01, samplesPerSecond: 100 });

describe('TrainingCurves', () => {
  it('smooths the loss with a debiased moving average', () => {
    const smoother = new Smoother(0.9);
    expect(smoother.next(2)).toBeCloseTo(2); // no pull towards 0 at the start
    expect(smoother.next(1)).toBeCloseTo((0.9 * 0.1 * 2 + 0.1 * 1) / (1 - 0.81));
  });

  it('appends points, ignores duplicates and notifies subscribers', () => {
    const curves = new TrainingCurves();
    let notified = 0;
    curves.loss.subscribe(() => notified++);
    curves.addProgress(progress(1, 2.3));
    curves.addProgress(progress(2, 1.9));
    curves.addProgress(progress(2, 1.9));
    expect(curves.loss.data()[0]).toEqual([1, 2]);
    expect(curves.learningRate.data()[0]).toEqual([1, 2]);
    expect(notified).toBe(3);
  });

  it('keeps the points before a resumed run restarts and drops later ones', () => {
    const curves = new TrainingCurves();
    curves.addLosses(Array.from({ length: 10 }, (_, i) => [i + 1, 1 / (i + 1)] as [number, number]));
    curves.addEpoch({ type: 'epoch', epoch: 1, step: 5, validationAccuracy: 0.9, validationLoss: 0.3, seconds: 1 });
    curves.addEpoch({ type: 'epoch', epoch: 2, step: 10, validationAccuracy: 0.95, validationLoss: 0.2, seconds: 1 });
    curves.truncateAfter(6, 1);
    expect(curves.loss.data()[0]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(curves.loss.data()[2]).toHaveLength(6);
    expect(curves.validation.data()[0]).toEqual([1]);
  });

  it('holds a 50,000-step run and draws it reduced, keeping its extremes', () => {
    const curves = new TrainingCurves();
    for (let step = 1; step <= 50_000; step++) curves.addProgress(progress(step, step === 31_337 ? 9 : 1 / step));
    expect(curves.lossPoints).toBe(50_000);
    const [xs, raw, smooth] = curves.loss.data();
    expect(xs.length).toBeLessThanOrEqual(MAX_DRAWN_POINTS);
    expect(xs.length).toBeGreaterThan(MAX_DRAWN_POINTS / 2);
    expect(raw).toHaveLength(xs.length);
    expect(smooth).toHaveLength(xs.length);
    expect(xs).toContain(31_337); // the spike survives
    expect(xs[0]).toBe(1);
    expect(xs.every((x, i) => i === 0 || x > xs[i - 1])).toBe(true);
  });

  it('downsampling keeps the lowest and highest point of each slice, in order', () => {
    const columns: SeriesData = [[1, 2, 3, 4, 5, 6], [5, 1, 9, 4, 4, 0], [0, 0, 0, 0, 0, 0]];
    expect(downsample(columns, 2)).toEqual([[2, 3, 4, 6], [1, 9, 4, 0], [0, 0, 0, 0]]);
  });
});
