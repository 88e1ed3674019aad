import { describe, expect, it } from 'vitest';
import type { TrainingEvent } from './contract.ts';
import { TrainingRecord } from './trainingRecord.ts';

function progress(step: number, learningRate = 0.1): Extract<TrainingEvent, { type: 'progress' }> {
  return { type: 'progress', step, epoch: 1, loss: 1 / step, learningRate, samplesPerSecond: 1000 };
}

function epoch(n: number, step: number): Extract<TrainingEvent, { type: 'epoch' }> {
  return { type: 'epoch', epoch: n, step, validationAccuracy: 0.9, validationLoss: 0.3, seconds: 1 };
}

function start(startStep: number): Extract<TrainingEvent, { type: 'start' }> {
  return { type: 'start', preset: 'seed', startStep, totalSteps: 40, stepsPerEpoch: 10, batchSize: 100, trainCount: 1000, validationCount: 500, resumed: startStep > 0 };
}

/** A clock the test moves by hand, in milliseconds. */
function manualClock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TrainingRecord', () => {
  it('records a run: curve, learning rate where it changed, epochs, the latest progress', () => {
    const record = new TrainingRecord();
    record.load('seed-1', { preset: 'seed', steps: 40 }, null);
    record.started(start(0));
    for (let step = 1; step <= 20; step++) record.addProgress(progress(step, step > 10 ? 0.099 : 0.1));
    record.addEpoch(epoch(1, 10));
    record.addEpoch(epoch(2, 20));
    const snapshot = record.snapshot();
    expect(snapshot).toMatchObject({ runId: 'seed-1', request: { preset: 'seed', steps: 40 }, start: { startStep: 0 }, last: { step: 20 }, error: null });
    expect(snapshot.losses.map(([step]) => step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(snapshot.learningRates).toEqual([[1, 0.1], [11, 0.099]]);
    expect(snapshot.epochs.map((e) => e.step)).toEqual([10, 20]);
    expect(record.toHistory()).toEqual({ losses: snapshot.losses, learningRates: snapshot.learningRates, epochs: snapshot.epochs });
  });

  it('continues a loaded history and drops what came after the step a resumed run restarts from', () => {
    const first = new TrainingRecord();
    first.load('seed-1', { preset: 'seed', steps: 40 }, null);
    for (let step = 1; step <= 25; step++) first.addProgress(progress(step, step > 20 ? 0.05 : 0.1));
    first.addEpoch(epoch(1, 10));
    first.addEpoch(epoch(2, 20));
    const history = first.toHistory();

    const resumed = new TrainingRecord();
    resumed.load('seed-1', { preset: 'seed', steps: 40 }, history);
    expect(resumed.snapshot().losses).toEqual(history.losses);
    resumed.started(start(20)); // the checkpoint was at step 20: steps 21-25 will be trained again
    const snapshot = resumed.snapshot();
    expect(snapshot.losses.at(-1)![0]).toBe(20);
    expect(snapshot.learningRates).toEqual([[1, 0.1]]);
    expect(snapshot.epochs.map((e) => e.step)).toEqual([10, 20]);
    resumed.truncateTo(10);
    expect(resumed.snapshot().epochs.map((e) => e.step)).toEqual([10]);
  });

  it('counts only the time spent running, and starts afresh on load', () => {
    const clock = manualClock();
    const record = new TrainingRecord(2000, clock.now);
    record.load('seed-1', { preset: 'seed' }, null);
    record.setState('running');
    clock.advance(1500);
    record.setState('paused');
    clock.advance(10_000);
    expect(record.snapshot().elapsedSeconds).toBe(1.5);
    record.setState('running');
    clock.advance(500);
    expect(record.snapshot().elapsedSeconds).toBe(2);
    record.setState('stopped');
    record.error = 'x';
    record.load('seed-2', { preset: 'seed' }, null);
    expect(record.snapshot()).toMatchObject({ runId: 'seed-2', elapsedSeconds: 0, error: null, losses: [], last: null });
  });
});
