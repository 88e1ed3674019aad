import { describe, expect, it } from 'vitest';
import type { RunSummary } from './contract.ts';
import { alignCurves, filterRuns, secondsAt, settingsRows, sortRuns } from './runTable.ts';

function run(runId: string, change: Partial<RunSummary> = {}): RunSummary {
  return {
    runId,
    name: runId,
    note: '',
    preset: 'fast',
    settings: { preset: 'fast', totalSteps: 100, batchSize: 100, learningRate: 0.008, trainCount: 1000, seed: 1, epochs: 10, stepsPerEpoch: 10 },
    data: { label: 'MNIST', trainCount: 1000, fineTunedFrom: null, heldOut: null },
    status: 'finished',
    problem: null,
    step: 100,
    totalSteps: 100,
    wallSeconds: 10,
    backend: 'wasm',
    bestValidationAccuracy: 0.9,
    testAccuracy: 0.9,
    createdAt: null,
    updatedAt: '2026-11-29T10:00:00.000Z',
    modelDir: `/ws/runs/${runId}/model`,
    origin: 'app',
    resumable: false,
    ...change,
  };
}

describe('run list sorting and filtering', () => {
  const runs = [
    run('a', { testAccuracy: 0.95, note: 'baseline', updatedAt: '2026-11-29T09:00:00.000Z' }),
    run('b', { testAccuracy: null, status: 'damaged', modelDir: null, updatedAt: '2026-11-29T11:00:00.000Z' }),
    run('c', { testAccuracy: 0.91, name: 'Cnn try', preset: 'cnn', status: 'stopped' }),
  ];

  it('sorts by a column either way, runs without the value last', () => {
    expect(sortRuns(runs, 'testAccuracy', true).map((r) => r.runId)).toEqual(['a', 'c', 'b']);
    expect(sortRuns(runs, 'testAccuracy', false).map((r) => r.runId)).toEqual(['c', 'a', 'b']);
    expect(sortRuns(runs, 'updatedAt', true).map((r) => r.runId)).toEqual(['b', 'c', 'a']);
    expect(sortRuns(runs, 'name', false).map((r) => r.name)).toEqual(['a', 'b', 'Cnn try']);
  });

  it('filters by words in name, note, model and data, by status and by having a model', () => {
    expect(filterRuns(runs, { text: 'BASE', status: 'all', withModel: false }).map((r) => r.runId)).toEqual(['a']);
    expect(filterRuns(runs, { text: 'cnn try', status: 'all', withModel: false }).map((r) => r.runId)).toEqual(['c']);
    expect(filterRuns(runs, { text: '', status: 'stopped', withModel: false }).map((r) => r.runId)).toEqual(['c']);
    expect(filterRuns(runs, { text: '', status: 'all', withModel: true }).map((r) => r.runId)).toEqual(['a', 'c']);
  });
});

describe('comparing runs', () => {
  it('lists the settings side by side and flags the rows that differ', () => {
    const rows = settingsRows([run('a'), run('b', { settings: { ...run('b').settings!, learningRate: 0.1 }, testAccuracy: 0.8 })]);
    const byLabel = Object.fromEntries(rows.map((r) => [r.label, r]));
    expect(byLabel['Learning rate']).toEqual({ label: 'Learning rate', values: ['0.008', '0.1'], differs: true });
    expect(byLabel['Batch size'].differs).toBe(false);
    expect(byLabel['Test accuracy']).toMatchObject({ values: ['90.00%', '80.00%'], differs: true });
    expect(byLabel.Model.differs).toBe(false);
  });

  it('says how much of "My digits" each run kept aside to check, and when it kept none', () => {
    const mine = (heldOut: RunSummary['data']['heldOut']) => run('m', { data: { label: 'MNIST + my digits (my-digits)', trainCount: 1030, fineTunedFrom: null, heldOut } });
    const rows = settingsRows([run('a'), mine({ count: 6, share: 0.2 }), mine({ count: 0, share: 0 }), mine({ count: 1, share: null })]);
    expect(rows.find((r) => r.label === 'My digits kept aside to check')).toEqual({
      label: 'My digits kept aside to check',
      values: ['—', '20% (6 pictures)', 'none (no check on my digits)', '1 picture'],
      differs: true,
    });
  });

  it('puts two runs on one x axis by step, by epoch and by training time', () => {
    const runs = [run('a'), run('b', { settings: { ...run('b').settings!, stepsPerEpoch: 20 } })];
    const curves = [
      { runId: 'a', losses: [[10, 1], [20, 0.5]] as [number, number][], epochs: [{ epoch: 1, step: 10, validationAccuracy: 0.8, validationLoss: 0.4 }], times: [[10, 2], [20, 4]] as [number, number][] },
      { runId: 'b', losses: [[20, 0.7]] as [number, number][], epochs: [{ epoch: 1, step: 20, validationAccuracy: 0.85, validationLoss: 0.3 }], times: [[20, 10]] as [number, number][] },
    ];
    expect(alignCurves(runs, curves, 'loss', 'step')).toEqual([[10, 20], [1, 0.5], [null, 0.7]]);
    expect(alignCurves(runs, curves, 'validation', 'epoch')).toEqual([[1], [0.8], [0.85]]);
    expect(alignCurves(runs, curves, 'loss', 'time')).toEqual([[2, 4, 10], [1, 0.5, null], [null, null, 0.7]]);
  });

  it('interpolates training time between the recorded marks', () => {
    expect(secondsAt([[10, 2], [20, 6]], 15)).toBe(4);
    expect(secondsAt([[10, 2]], 5)).toBe(1);
    expect(secondsAt([[10, 2]], 20)).toBe(4);
    expect(secondsAt([], 5)).toBeNull();
  });
});
