import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnistOnWasm } from '../../test/trainingData.ts';
import type { MnistSplits } from './dataset.ts';
import { FUSED_MLP_MIN_PARALLEL_SAMPLES, MIN_PARALLEL_SAMPLES, defaultTrainingThreads, shardRange } from './parallelGradients.ts';
import { trainModel, type TrainingOptions } from './trainer.ts';

let data: MnistSplits;
let tmp: string;
let runs = 0;

beforeAll(async () => {
  data = await mnistOnWasm(200, 200);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-parallel-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Trains a fresh run and returns its final (moving-average) weights and last loss. */
async function train(options: Omit<TrainingOptions, 'runDir'>, runDir = path.join(tmp, `run-${runs++}`), signal?: AbortSignal) {
  const losses: number[] = [];
  const result = await trainModel(data, { validate: false, ...options, runDir }, { signal, onEvent: (e) => e.type === 'progress' && losses.push(e.loss) });
  const weights = result.model.getWeights().map((w) => w.dataSync() as Float32Array);
  result.model.dispose();
  return { weights, losses, step: result.step, stopped: result.stopped };
}

function maxDifference(a: Float32Array[], b: Float32Array[]): number {
  let max = 0;
  a.forEach((x, i) => x.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i][j])))));
  return max;
}

describe('shardRange', () => {
  it('cuts a batch into contiguous, near-equal shards covering every image once', () => {
    const shards = [0, 1, 2].map((i) => shardRange(i, 3, 100));
    expect(shards).toEqual([
      [0, 33],
      [33, 67],
      [67, 100],
    ]);
  });

  it('gives the first shard (this thread, which also does the serial work) its weight', () => {
    expect([0, 1].map((i) => shardRange(i, 2, 200, 0.5))).toEqual([
      [0, 67],
      [67, 200],
    ]);
    expect([0, 1, 2].map((i) => shardRange(i, 3, 10, 0.5))).toEqual([
      [0, 2],
      [2, 6],
      [6, 10],
    ]);
  });
});

describe('defaultTrainingThreads', () => {
  it('uses every core on the portable backends for long runs, one thread for native TensorFlow and short runs', () => {
    expect(defaultTrainingThreads('wasm')).toBe(os.availableParallelism());
    expect(defaultTrainingThreads('cpu', MIN_PARALLEL_SAMPLES)).toBe(os.availableParallelism());
    expect(defaultTrainingThreads('wasm', MIN_PARALLEL_SAMPLES - 1)).toBe(1);
    expect(defaultTrainingThreads('native')).toBe(1);
  });

  it('keeps the fused MLP step on one thread, however long the run (its steps are too short to share)', () => {
    expect(defaultTrainingThreads('wasm', 360_000, FUSED_MLP_MIN_PARALLEL_SAMPLES)).toBe(1);
    expect(defaultTrainingThreads('wasm', 50_000 * 200, FUSED_MLP_MIN_PARALLEL_SAMPLES)).toBe(1);
  });
});

describe('data-parallel training (worker threads)', () => {
  it('equals one-thread training up to float rounding (SGD with L2: the seed recipe)', async () => {
    const options = { preset: 'seed' as const, limit: 600, steps: 6, batchSize: 100 };
    const one = await train({ ...options, threads: 1 });
    const two = await train({ ...options, threads: 2 });
    expect(two.losses).toHaveLength(6);
    two.losses.forEach((loss, i) => expect(loss).toBeCloseTo(one.losses[i], 4));
    // Weights move by ~1e-2 over these steps; a wrong shard weighting or a lost shard moves them by far more.
    const moved = maxDifference(one.weights, (await train({ ...options, steps: 1, threads: 1 })).weights);
    expect(moved).toBeGreaterThan(1e-3);
    expect(maxDifference(one.weights, two.weights)).toBeLessThan(1e-5);
  });

  it('equals one-thread training with Adam and an odd batch cut into three shards', async () => {
    const options = { preset: 'fast' as const, limit: 501, steps: 4, batchSize: 167 };
    const one = await train({ ...options, threads: 1 });
    const three = await train({ ...options, threads: 3 });
    expect(maxDifference(one.weights, three.weights)).toBeLessThan(1e-4);
  });

  it('is deterministic: the same run twice gives the same weights bit for bit', async () => {
    const options = { preset: 'seed' as const, limit: 400, steps: 4, batchSize: 100, threads: 2 };
    const a = await train(options);
    const b = await train(options);
    expect(maxDifference(a.weights, b.weights)).toBe(0);
  });

  it('stops, checkpoints and resumes to the weights of an uninterrupted run', async () => {
    const options = { preset: 'fast' as const, limit: 400, steps: 6, batchSize: 100, threads: 2, checkpointEvery: 2 };
    const whole = await train(options);
    const runDir = path.join(tmp, 'stopped');
    const controller = new AbortController();
    const first = await trainModel(data, { ...options, validate: false, runDir }, { signal: controller.signal, onEvent: (e) => e.type === 'progress' && e.step === 3 && controller.abort() });
    expect(first.stopped).toBe(true);
    expect(first.step).toBe(3);
    first.model.dispose();
    const resumed = await train(options, runDir);
    expect(resumed.step).toBe(6);
    expect(maxDifference(whole.weights, resumed.weights)).toBeLessThan(1e-6);
  });

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    await train({ preset: 'seed', limit: 200, steps: 2, batchSize: 100, threads: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });
});
