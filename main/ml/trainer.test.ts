import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnistOnWasm } from '../../test/trainingData.ts';
import { loadCheckpoint } from './checkpoint.ts';
import type { MnistSplits } from './dataset.ts';
import { evaluateModel } from './evaluate.ts';
import { loadModelFolder } from './modelFolder.ts';
import { trainRun } from './runs.ts';
import { epochOrder, fillBatch } from './batches.ts';
import { trainModel, type TrainingEvent } from './trainer.ts';

let data: MnistSplits;
let tmp: string;

beforeAll(async () => {
  // Small, real subsets: training tests must stay quick on the portable backend.
  data = await mnistOnWasm(500, 2000);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-trainer-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('epochOrder', () => {
  it('is a permutation, reproducible for a seed and epoch, different across epochs', () => {
    const a = epochOrder(1000, 7, 3);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(epochOrder(1000, 7, 3)).toEqual(a);
    expect(epochOrder(1000, 7, 4)).not.toEqual(a);
  });
});

describe('fillBatch', () => {
  it('scales bytes to [0, 1] and copies labels', () => {
    const xs = new Float32Array(2 * 784);
    const labels = new Int32Array(2);
    fillBatch(data.train, [3, 0], xs, labels);
    expect(labels[0]).toBe(data.train.labels[3]);
    expect(labels[1]).toBe(data.train.labels[0]);
    expect(xs[100]).toBeCloseTo(data.train.images[3 * 784 + 100] / 255, 6);
    expect(Math.max(...xs)).toBeLessThanOrEqual(1);
  });

  it('shifts an image by whole pixels when augmenting, keeping its ink', () => {
    const xs = new Float32Array(784);
    const labels = new Int32Array(1);
    // random() = 0 gives the most negative shift in x and y.
    fillBatch(data.train, [0], xs, labels, 2, () => 0);
    const original = data.train.images.subarray(0, 784);
    for (let y = 2; y < 28; y++) {
      for (let x = 2; x < 28; x++) expect(xs[(y - 2) * 28 + (x - 2)]).toBeCloseTo(original[y * 28 + x] / 255, 6);
    }
  });
});

describe('trainModel', () => {
  it("learns real MNIST with the seed's recipe: over 85% on 2,000 test images after 250 steps on 5,000 images", async () => {
    const events: TrainingEvent[] = [];
    const result = await trainModel(
      data,
      { preset: 'seed', runDir: path.join(tmp, 'learn'), steps: 250, limit: 5000 },
      { onEvent: (e) => events.push(e) },
    );
    const accuracy = evaluateModel(result.model, data.test).accuracy;
    result.model.dispose();
    expect(accuracy).toBeGreaterThan(0.85);
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress).toHaveLength(250);
    expect(progress[0]).toMatchObject({ step: 1, epoch: 1, learningRate: 0.1 });
    // 5,000 images / batch 200 = 25 steps an epoch: the rate decays 0.99 per epoch, staircase.
    expect(progress[25].learningRate).toBeCloseTo(0.099, 10);
    const epochs = events.filter((e) => e.type === 'epoch');
    expect(epochs).toHaveLength(10);
    expect(epochs.at(-1)!.type === 'epoch' && epochs.at(-1)!.validationAccuracy).toBeGreaterThan(0.85);
  });

  it('resumes from its checkpoint at the same step, and ends where an uninterrupted run ends', async () => {
    const options = { preset: 'seed' as const, steps: 40, limit: 1000, validate: false, checkpointEvery: 10 };
    const straight = await trainModel(data, { ...options, runDir: path.join(tmp, 'straight') });
    const expected = straight.model.getWeights().map((w) => w.dataSync().slice());
    straight.model.dispose();

    const runDir = path.join(tmp, 'interrupted');
    const controller = new AbortController();
    const first = await trainModel(
      data,
      { ...options, runDir },
      { signal: controller.signal, onEvent: (e) => e.type === 'progress' && e.step === 17 && controller.abort() },
    );
    expect(first.stopped).toBe(true);
    expect(first.step).toBe(17);
    first.model.dispose();
    const saved = await loadCheckpoint(runDir);
    expect(saved?.step).toBe(17);
    tf.dispose([...saved!.weights, ...saved!.averages, ...saved!.optimizer.map((n) => n.tensor)]);

    const starts: TrainingEvent[] = [];
    const resumed = await trainModel(data, { ...options, runDir }, { onEvent: (e) => e.type === 'start' && starts.push(e) });
    expect(starts[0]).toMatchObject({ type: 'start', startStep: 17, resumed: true });
    expect(resumed.step).toBe(40);
    const actual = resumed.model.getWeights().map((w) => w.dataSync());
    resumed.model.dispose();
    actual.forEach((values, i) => {
      let maxDiff = 0;
      for (let j = 0; j < values.length; j++) maxDiff = Math.max(maxDiff, Math.abs(values[j] - expected[i][j]));
      expect(maxDiff).toBeLessThan(1e-5);
    });
  });

  it('refuses to resume a run folder with different settings', async () => {
    const runDir = path.join(tmp, 'mismatch');
    (await trainModel(data, { preset: 'seed', runDir, steps: 2, limit: 400, validate: false })).model.dispose();
    await expect(trainModel(data, { preset: 'seed', runDir, steps: 4, limit: 600, validate: false })).rejects.toThrow(
      /training images 400 \(asked for 600\)/,
    );
  });

  it('does not leak tensors from one step to the next', async () => {
    const counts: number[] = [];
    const result = await trainModel(
      data,
      { preset: 'fast', runDir: path.join(tmp, 'leak'), steps: 30, limit: 1000, validate: false, checkpointEvery: 1000 },
      { onEvent: (e) => e.type === 'progress' && e.step >= 5 && counts.push(tf.memory().numTensors) },
    );
    result.model.dispose();
    expect(new Set(counts).size).toBe(1);
  });
});

describe('trainRun', () => {
  it('writes <run>/model with its test metrics when a run is stopped (status stopped) and again when it finishes', async () => {
    const runDir = path.join(tmp, 'train-run');
    const options = { preset: 'seed' as const, runDir, steps: 20, limit: 1000, validate: false };
    const controller = new AbortController();
    const stopped = await trainRun(data, options, {
      signal: controller.signal,
      onEvent: (e) => e.type === 'progress' && e.step === 5 && controller.abort(),
    });
    expect(stopped).toMatchObject({ status: 'stopped', stopped: true, step: 5, totalSteps: 20, modelDir: path.join(runDir, 'model') });
    expect(stopped.test?.count).toBe(2000);
    // The first run may leave tfjs's own one-off caches behind; the second must add nothing.
    const tensorsBefore = tf.memory().numTensors;
    const early = await loadModelFolder(path.join(runDir, 'model'));
    expect(early.metadata).toMatchObject({ status: 'stopped', step: 5, totalSteps: 20 });
    early.model.dispose();

    const done = await trainRun(data, options);
    expect(done).toMatchObject({ status: 'finished', stopped: false, step: 20, totalSteps: 20, modelDir: path.join(runDir, 'model') });
    expect(done.test?.count).toBe(2000);
    expect(done.test?.accuracy).toBeGreaterThan(0.5);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const loaded = await loadModelFolder(path.join(runDir, 'model'));
    expect(loaded.metadata?.training.steps).toBe(20);
    expect(loaded.metadata).toMatchObject({ status: 'finished', step: 20, totalSteps: 20 });
    loaded.model.dispose();
  });
});
