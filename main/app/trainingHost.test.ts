import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderHandwrittenSet } from '../ml/handwriting.ts';
import { loadModelFolder, type ModelMetadata } from '../ml/modelFolder.ts';
import type { ModelInfo, TrainingEvent, TrainingUpdate } from './contract.ts';
import { fakeForker } from './fakeTrainer.ts';
import { LossCurve } from '../ml/lossCurve.ts';
import { readCheckpointInfo, saveCheckpoint } from '../ml/checkpoint.ts';
import { acquireLock, runLockFile } from '../ml/folderLock.ts';
import { forkNodeTrainer } from './nodeTrainingProcess.ts';
import { createTrainingHost, type TrainingHostOptions } from './trainingHost.ts';
import { rejection } from './testing.ts';

let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'training-host-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

afterEach(() => {
  vi.useRealTimers();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const fakeModel = async ({ modelDir }: { modelDir: string }): Promise<ModelInfo> => ({
  origin: 'trained',
  dir: modelDir,
  name: 'a-run',
  preset: 'seed',
  testAccuracy: 0.5,
  createdAt: null,
});

/** A progress event; the learning rate decays to 0.099 from step 101 (epoch 2 of 100-step epochs). */
function progress(step: number): TrainingEvent {
  return { type: 'progress', step, epoch: 1, loss: 1 / step, learningRate: step > 100 ? 0.099 : 0.1, samplesPerSecond: 1000 };
}

function fakeHost(workspace: string, extra: Partial<TrainingHostOptions> = {}) {
  const forker = fakeForker();
  const updates: TrainingUpdate[] = [];
  const host = createTrainingHost({ workspaceDir: workspace, fork: forker.fork, onRunEnded: fakeModel, ...extra });
  host.on((u) => updates.push(u));
  return { host, forker, updates };
}

describe('training host with a scripted child', () => {
  it('throttles progress, sends the latest progress before each epoch event, and keeps every point in the snapshot', async () => {
    const { host, forker, updates } = fakeHost(path.join(tmp, 'ws-throttle'), { progressIntervalMs: 60 });
    await host.start({ preset: 'seed', steps: 200 });
    vi.useFakeTimers();
    const child = forker.children[0];
    child.play({ type: 'ready' });
    for (let step = 1; step <= 100; step++) child.play({ type: 'event', event: progress(step) });
    const sent = () => updates.filter((u) => u.type === 'progress').map((u) => (u as { step: number }).step);
    expect(sent()).toEqual([1]);
    vi.advanceTimersByTime(59);
    expect(sent()).toEqual([1]);
    vi.advanceTimersByTime(1); // the trailing update carries the newest step
    expect(sent()).toEqual([1, 100]);
    for (let step = 101; step <= 110; step++) child.play({ type: 'event', event: progress(step) });
    child.play({ type: 'event', event: { type: 'epoch', epoch: 1, step: 110, validationAccuracy: 0.9, validationLoss: 0.3, seconds: 1 } });
    const types = updates.map((u) => u.type);
    expect(types.slice(-2)).toEqual(['progress', 'epoch']);
    expect(sent().at(-1)).toBe(110);
    const snapshot = host.snapshot();
    expect(snapshot.losses).toHaveLength(110);
    expect(snapshot.learningRates).toEqual([[1, 0.1], [101, 0.099]]);
    expect(snapshot.last?.step).toBe(110);
    expect(snapshot.epochs).toHaveLength(1);
    expect(snapshot.state).toBe('running');
    child.play({ type: 'stopped', step: 110, totalSteps: 200, modelDir: null, testAccuracy: null });
    child.exit();
    await host.stop();
    expect(host.snapshot().state).toBe('stopped');
  });

  it('detects a crashed child: state failed with a message, and a new run may start', async () => {
    const { host, forker, updates } = fakeHost(path.join(tmp, 'ws-crash'));
    const { runId } = await host.start({ preset: 'fast', steps: 50 });
    expect((await rejection(host.start({ preset: 'fast', steps: 50 }))).code).toBe('busy');
    forker.children[0].play({ type: 'ready' });
    forker.children[0].play({ type: 'event', event: progress(1) });
    forker.children[0].exit({ code: null, signal: 'SIGSEGV' });
    const last = updates.at(-1)!;
    expect(last).toMatchObject({ type: 'state', state: 'failed', runId });
    expect(host.snapshot().error).toMatch(/ended unexpectedly \(killed by SIGSEGV\)/);
    await host.stop(); // nothing left to stop
    await expect(host.start({ preset: 'fast', steps: 50 })).resolves.toMatchObject({ runId: expect.any(String) });
  });

  it('queues a pause asked before the child is ready, and resolves pause once the child has parked', async () => {
    const { host, forker } = fakeHost(path.join(tmp, 'ws-early-pause'));
    await host.start({ preset: 'seed', steps: 10 });
    let parked = false;
    const pausing = host.pause().then(() => (parked = true));
    expect(host.snapshot().state).toBe('paused');
    const child = forker.children[0];
    child.play({ type: 'ready' });
    expect(child.sentTypes()).toEqual(['start', 'pause']);
    await new Promise((resolve) => setImmediate(resolve)); // let any pending callbacks run
    expect(parked).toBe(false);
    child.play({ type: 'paused', step: 0 });
    await pausing;
    expect(parked).toBe(true);
    await host.resume();
    expect(child.sentTypes()).toEqual(['start', 'pause', 'resume']);
    await expect(host.resume()).resolves.toBeUndefined(); // resuming a running run is a no-op
  }, 10_000);

  it('kills a child that does not stop in time', async () => {
    const { host, forker } = fakeHost(path.join(tmp, 'ws-stuck'), { stopTimeoutMs: 50 });
    await host.start({ preset: 'seed', steps: 10 });
    forker.children[0].play({ type: 'ready' });
    await host.stop();
    expect(forker.children[0].killed).toBe(true);
    expect(host.snapshot().state).toBe('failed');
  });

  it('refuses to resume unknown and complete runs, and lists interrupted ones as resumable', async () => {
    const workspace = path.join(tmp, 'ws-runs');
    const { host } = fakeHost(workspace);
    const writeCheckpoint = async (runId: string, step: number, totalSteps: number) => {
      const settings = { preset: 'seed' as const, totalSteps, batchSize: 200, learningRate: 0.1, trainCount: 1000, seed: 1 };
      await saveCheckpoint(path.join(workspace, 'runs', runId), { step, settings, weights: [], averages: [], optimizer: [] });
    };
    await writeCheckpoint('seed-half', 4, 8);
    await new Promise((resolve) => setTimeout(resolve, 5)); // listed most recently saved first
    await writeCheckpoint('seed-complete', 8, 8);
    const model = path.join(workspace, 'runs', 'seed-complete', 'model');
    await mkdir(model);
    for (const file of ['model.json', 'weights.bin']) await writeFile(path.join(model, file), '{}');
    await writeFile(path.join(model, 'metadata.json'), JSON.stringify({ status: 'finished', step: 8, totalSteps: 8 }));
    expect((await rejection(host.resumeRun('seed-missing'))).code).toBe('not-found');
    expect((await rejection(host.resumeRun('seed-complete'))).code).toBe('conflict');
    const runs = await host.listRuns();
    expect(runs.map((r) => [r.runId, r.status, r.step, r.totalSteps, r.resumable])).toEqual([
      ['seed-complete', 'finished', 8, 8, false],
      ['seed-half', 'interrupted', 4, 8, true],
    ]);

    // A run that `digits train` (or any other process) holds is refused, naming the process.
    const lock = await acquireLock(runLockFile(path.join(workspace, 'runs', 'seed-half')), 'run seed-half');
    const busy = await rejection(host.resumeRun('seed-half'));
    expect(busy.code).toBe('busy');
    expect(busy.message).toMatch(new RegExp(`^Run seed-half is in use by process ${process.pid} `));
    await lock.release();
  });
});

describe('training host: a fine-tune keeps its own copy of the starting model', () => {
  it('writes the current model into the run, starts and resumes from that copy, and leaves nothing behind without a model', async () => {
    const workspace = path.join(tmp, 'ws-fine-tune');
    const saved: string[] = [];
    let current: string | null = 'fast-20261129-run';
    const sources = {
      pictures: { dir: path.join(workspace, 'my-digits'), cacheDir: path.join(workspace, 'cache') },
      saveCurrentModel: async (dir: string) => {
        if (!current) return null;
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, 'model.json'), '{}');
        saved.push(dir);
        return { name: current };
      },
    };
    const { host, forker } = fakeHost(workspace, { sources });
    const { runId } = await host.start({ preset: 'fast', startFrom: 'current', steps: 8 });
    const runDir = path.join(workspace, 'runs', runId);
    expect(saved).toEqual([path.join(runDir, 'start-model')]);
    forker.children[0].play({ type: 'ready' });
    expect(forker.children[0].sent[0]).toMatchObject({ type: 'start', fromModelDir: path.join(runDir, 'start-model'), fromModelName: 'fast-20261129-run' });
    // Recorded relative to the run: the workspace can move, and the current model can change or go.
    expect(JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8'))).toMatchObject({ fromModelDir: 'start-model', fromModelName: 'fast-20261129-run' });
    forker.children[0].play({ type: 'stopped', step: 4, totalSteps: 8, modelDir: null, testAccuracy: null });
    forker.children[0].exit();
    await expect.poll(() => host.snapshot().state).toBe('stopped');

    current = null;
    const settings = { preset: 'fast' as const, totalSteps: 8, batchSize: 100, learningRate: 5e-4, trainCount: 1000, seed: 1 };
    await saveCheckpoint(runDir, { step: 4, settings, weights: [], averages: [], optimizer: [] });
    await host.resumeRun(runId);
    forker.children[1].play({ type: 'ready' });
    expect(forker.children[1].sent[0]).toMatchObject({ type: 'start', fromModelDir: path.join(runDir, 'start-model'), fromModelName: 'fast-20261129-run' });
    forker.children[1].exit({ code: 1, signal: null });
    await expect.poll(() => host.snapshot().state).toBe('failed');

    // No current model: refused, and no half-made run folder is left to list as damaged.
    const before = (await host.listRuns()).length;
    expect((await rejection(host.start({ preset: 'fast', startFrom: 'current', steps: 8 }))).code).toBe('no-model');
    expect(await host.listRuns()).toHaveLength(before);
  });
});

describe('LossCurve', () => {
  it('keeps at most maxPoints (+ the newest) evenly spread over the whole run', () => {
    const curve = new LossCurve(100);
    for (let step = 1; step <= 10_000; step++) curve.add(step, step);
    const points = curve.points();
    expect(points.length).toBeLessThanOrEqual(101);
    expect(points.length).toBeGreaterThan(50);
    expect(points.at(-1)).toEqual([10_000, 10_000]);
    expect(points[0][0]).toBeLessThanOrEqual(10_000 / 50);
    const steps = points.map(([s]) => s);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
  });
});

describe('training host with a real training process', () => {
  it('runs start -> throttled progress -> pause -> resume -> stop -> resumeRun -> finished with a model', async () => {
    const workspace = path.join(tmp, 'ws-real');
    const updates: TrainingUpdate[] = [];
    const finished: string[] = [];
    const host = createTrainingHost({
      workspaceDir: workspace,
      fork: forkNodeTrainer(),
      backend: 'wasm',
      onRunEnded: async ({ modelDir, testAccuracy }) => {
        const loaded = await loadModelFolder(modelDir);
        loaded.model.dispose();
        finished.push(modelDir);
        return { origin: 'trained', dir: modelDir, name: 'a-run', preset: loaded.metadata?.preset ?? null, testAccuracy, createdAt: loaded.metadata?.createdAt ?? null };
      },
    });
    host.on((u) => updates.push(u));
    const lastStep = () => host.snapshot().last?.step ?? 0;
    const started = performance.now();

    // 1,000 images, batch 100: 10 steps an epoch, validation (5,000 images) at each epoch end.
    const { runId } = await host.start({ preset: 'seed', limit: 1000, batchSize: 100, steps: 60 });
    await expect.poll(lastStep, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(5);

    await host.pause();
    expect(host.snapshot().state).toBe('paused');
    const pausedAt = lastStep();
    const countBefore = updates.length;
    await sleep(800);
    expect(lastStep()).toBe(pausedAt);
    expect(updates.slice(countBefore).filter((u) => u.type === 'progress')).toEqual([]);

    await host.resume();
    expect(host.snapshot().state).toBe('running');
    await expect.poll(lastStep, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(pausedAt + 3);
    await host.stop();
    const stoppedAt = lastStep();
    expect(host.snapshot().state).toBe('stopped');
    expect(stoppedAt).toBeLessThan(60);
    const checkpoint = await readCheckpointInfo(path.join(workspace, 'runs', runId));
    expect(checkpoint?.step).toBe(stoppedAt);
    // The stopped run has a model already (the averaged weights of its last checkpoint) and stays resumable.
    const stoppedModel = path.join(workspace, 'runs', runId, 'model');
    expect(finished).toEqual([stoppedModel]);
    expect(JSON.parse(await readFile(path.join(stoppedModel, 'metadata.json'), 'utf8'))).toMatchObject({ status: 'stopped', step: stoppedAt, totalSteps: 60 });
    expect(await host.listRuns()).toEqual([
      expect.objectContaining({ runId, status: 'stopped', step: stoppedAt, totalSteps: 60, resumable: true, modelDir: stoppedModel }),
    ]);

    const firstRun = updates.length;
    await host.resumeRun(runId);
    await expect.poll(() => host.snapshot().state, { timeout: 60_000, interval: 100 }).toBe('finished');
    const resumed = updates.slice(firstRun);
    expect(resumed.find((u) => u.type === 'start')).toMatchObject({ resumed: true, startStep: stoppedAt, totalSteps: 60 });
    expect(resumed.find((u) => u.type === 'done')).toMatchObject({ runId, model: { dir: path.join(workspace, 'runs', runId, 'model') } });
    expect(finished).toEqual([stoppedModel, stoppedModel]);
    expect(JSON.parse(await readFile(path.join(stoppedModel, 'metadata.json'), 'utf8'))).toMatchObject({ status: 'finished', step: 60, totalSteps: 60 });
    expect((await stat(path.join(finished[0], 'weights.bin'))).size).toBeGreaterThan(0);
    expect((await host.listRuns())[0]).toMatchObject({ runId, status: 'finished', step: 60, resumable: false, origin: 'app' });

    // Throttling: far fewer progress updates than steps, yet each epoch event follows the progress of its own step.
    const seconds = (performance.now() - started) / 1000;
    const progressSent = updates.filter((u) => u.type === 'progress');
    const epochs = updates.filter((u) => u.type === 'epoch');
    expect(epochs.map((e) => (e as { step: number }).step)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(progressSent.length).toBeLessThan(60);
    expect(progressSent.length).toBeLessThanOrEqual(Math.ceil(seconds * 4) + epochs.length + 4);
    updates.forEach((u, i) => {
      if (u.type !== 'epoch') return;
      const before = updates.slice(0, i).filter((p) => p.type === 'progress').at(-1) as { step: number };
      expect(before.step).toBe(u.step);
    });
    // The snapshot's curve covers both legs of the run.
    const losses = host.snapshot().losses;
    expect(losses[0][0]).toBe(1);
    expect(losses.at(-1)![0]).toBe(60);
    expect(new Set(losses.map(([s]) => s)).size).toBe(losses.length);
  }, 90_000);
});

describe('training host on "My digits" with a real training process', () => {
  it('keeps aside the share of each digit the request asks for, records it, and with 0 reports no held-out figure', async () => {
    const workspace = path.join(tmp, 'ws-mine');
    const pictures = path.join(workspace, 'my-digits');
    for (const sample of await renderHandwrittenSet(3, 7)) {
      await mkdir(path.join(pictures, String(sample.digit)), { recursive: true });
      await writeFile(path.join(pictures, String(sample.digit), sample.name), sample.picture);
    }
    const updates: TrainingUpdate[] = [];
    const host = createTrainingHost({
      workspaceDir: workspace,
      fork: forkNodeTrainer(),
      backend: 'wasm',
      sources: { pictures: { dir: pictures, cacheDir: path.join(workspace, 'cache') }, saveCurrentModel: async () => null },
      onRunEnded: fakeModel,
    });
    host.on((u) => updates.push(u));
    const run = async (holdout: number) => {
      const from = updates.length;
      const { runId } = await host.start({ preset: 'seed', data: 'mine', holdout, steps: 4, batchSize: 10 });
      await expect.poll(() => host.snapshot().state, { timeout: 60_000, interval: 100 }).toBe('finished');
      const events = updates.slice(from);
      const metadata = JSON.parse(await readFile(path.join(workspace, 'runs', runId, 'model', 'metadata.json'), 'utf8')) as ModelMetadata;
      const listed = (await host.listRuns()).find((r) => r.runId === runId);
      return { events, metadata, listed, runId };
    };

    // 3 pictures of each digit, half kept aside: round(1.5) = 2 of each, 1 left to train on.
    const half = await run(0.5);
    expect(half.events.find((u) => u.type === 'start')).toMatchObject({ heldOutPictures: 20 });
    expect(half.events.find((u) => u.type === 'epoch')).toHaveProperty('imagesAccuracy');
    expect(half.events.find((u) => u.type === 'done')).toHaveProperty('imagesAccuracy');
    expect(half.metadata.trainedOn?.pictures).toMatchObject({ count: 30, trainCount: 10, heldOutCount: 20, holdout: 0.5 });
    expect(half.listed?.data.heldOut).toEqual({ count: 20, share: 0.5 });

    // None kept aside: every picture is trained on and no figure on my digits is invented.
    const none = await run(0);
    expect(none.events.find((u) => u.type === 'start')).toMatchObject({ heldOutPictures: 0 });
    const epochs = none.events.filter((u) => u.type === 'epoch');
    expect(epochs.length).toBeGreaterThan(0);
    for (const epoch of epochs) expect(epoch).not.toHaveProperty('imagesAccuracy');
    expect(none.events.find((u) => u.type === 'done')).not.toHaveProperty('imagesAccuracy');
    expect(none.metadata.trainedOn?.pictures).toMatchObject({ count: 30, trainCount: 30, heldOutCount: 0, holdout: 0 });
    expect(none.listed?.data.heldOut).toEqual({ count: 0, share: 0 });
    // The request (with its share) is what a resume reads back.
    expect(JSON.parse(await readFile(path.join(workspace, 'runs', none.runId, 'run.json'), 'utf8')).request).toMatchObject({ data: 'mine', holdout: 0 });
  }, 120_000);
});
