import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnistOnWasm } from '../../test/trainingData.ts';
import type { MnistSplits } from './dataset.ts';
import { FusedOptimizer } from './fusedOptimizer.ts';
import { createModel, type OptimizerName } from './models.ts';
import { trainModel, type TrainingOptions } from './trainer.ts';

let data: MnistSplits;
let tmp: string;

beforeAll(async () => {
  data = await mnistOnWasm(100, 100);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-fused-optimizer-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The same variables, gradients and steps through tfjs's optimizer and ours. */
async function compare(kind: OptimizerName, steps: number) {
  const shapes = [[30, 7], [7], [5, 4, 3]];
  const make = () => shapes.map((shape, i) => tf.variable(tf.randomNormal(shape, 0, 0.1, 'float32', 10 + i)));
  const ours = make();
  const theirs = make();
  const fused = new FusedOptimizer(kind, 0.01);
  const reference = kind === 'sgd' ? tf.train.sgd(0.01) : tf.train.adam(0.01);
  for (let s = 0; s < steps; s++) {
    const gradients = shapes.map((shape, i) => tf.randomNormal(shape, 0, 1, 'float32', 100 * s + i));
    fused.applyGradients(ours.map((v, i) => ({ name: v.name, tensor: gradients[i] })));
    reference.applyGradients(theirs.map((v, i) => ({ name: v.name, tensor: gradients[i] })));
    tf.dispose(gradients);
  }
  return { ours, theirs, fused, reference };
}

describe('FusedOptimizer', () => {
  for (const kind of ['sgd', 'adam'] as const) {
    it(`moves the weights as tfjs's ${kind} does`, async () => {
      const { ours, theirs, fused, reference } = await compare(kind, 5);
      ours.forEach((v, i) => {
        expect(maxDifference(v.dataSync(), theirs[i].dataSync())).toBeLessThan(1e-6);
        // Five steps of 0.01 moved them: the comparison is not between untouched weights.
        expect(maxDifference(v.dataSync(), tf.randomNormal(v.shape, 0, 0.1, 'float32', 10 + i).dataSync())).toBeGreaterThan(0.01);
      });
      const [saved, expected] = [await fused.getWeights(), await reference.getWeights()];
      // tfjs's names and order: iter, every variable's m, every variable's v.
      const names = (vs: tf.Variable[]) => ['iter', ...(kind === 'adam' ? [...vs.map((v) => `${v.name}/m`), ...vs.map((v) => `${v.name}/v`)] : [])];
      expect(saved.map((n) => n.name)).toEqual(names(ours));
      expect(expected.map((n) => n.name)).toEqual(names(theirs));
      saved.forEach((n, i) => expect(n.tensor.shape).toEqual(expected[i].tensor.shape));
      saved.forEach((n, i) => expect(maxDifference(n.tensor.dataSync(), expected[i].tensor.dataSync())).toBeLessThan(1e-6));
      tf.dispose([saved[0].tensor, expected[0].tensor, ...ours, ...theirs]);
      fused.dispose();
      reference.dispose();
    });
  }

  it('updates weights that a model has already used (no stale cached weights in predictions)', () => {
    const model = createModel('fast', 2);
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 3);
    tf.dispose(model.predict(x) as tf.Tensor); // the backend may now cache its packed weights
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const fused = new FusedOptimizer('sgd', 0.5);
    const gradients = variables.map((v) => tf.onesLike(v));
    fused.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: gradients[i] })));
    const after = (model.predict(x) as tf.Tensor).dataSync();
    const fresh = createModel('fast', 2);
    fresh.setWeights(model.getWeights());
    const expected = (fresh.predict(x) as tf.Tensor).dataSync();
    expect(maxDifference(after, expected)).toBeLessThan(1e-6);
    tf.dispose([x, ...gradients]);
    model.dispose();
    fresh.dispose();
    fused.dispose();
  });

  it("restores tfjs's Adam state and continues as tfjs's Adam does", async () => {
    const { ours, theirs, reference } = await compare('adam', 3);
    // Our optimizer picks up from tfjs's saved state (what a checkpoint holds).
    const resumed = new FusedOptimizer('adam', 0.01);
    const state = await reference.getWeights();
    await resumed.setWeights(state);
    ours.forEach((v, i) => v.assign(theirs[i]));
    const gradients = ours.map((v) => tf.randomNormal(v.shape, 0, 1, 'float32', 7));
    resumed.applyGradients(ours.map((v, i) => ({ name: v.name, tensor: gradients[i] })));
    reference.applyGradients(theirs.map((v, i) => ({ name: v.name, tensor: gradients[i] })));
    ours.forEach((v, i) => expect(maxDifference(v.dataSync(), theirs[i].dataSync())).toBeLessThan(1e-6));
    tf.dispose([...gradients, state[0].tensor, ...ours, ...theirs]);
    resumed.dispose();
    reference.dispose();
  });
});

describe('checkpoints of fused training', () => {
  async function train(options: Omit<TrainingOptions, 'runDir'>, runDir: string, stopAt?: number) {
    const controller = new AbortController();
    const result = await trainModel(data, { validate: false, ...options, runDir }, { signal: controller.signal, onEvent: (e) => e.type === 'progress' && e.step === stopAt && controller.abort() });
    const weights = result.model.getWeights().map((w) => w.dataSync() as Float32Array);
    result.model.dispose();
    return { weights, step: result.step, stopped: result.stopped };
  }

  const options = { preset: 'fast' as const, limit: 400, steps: 6, batchSize: 100, checkpointEvery: 2, threads: 1 };

  it('stops, checkpoints and resumes to the weights of an uninterrupted run', async () => {
    const whole = await train(options, path.join(tmp, 'whole'));
    const runDir = path.join(tmp, 'stopped');
    const first = await train(options, runDir, 3);
    expect([first.stopped, first.step]).toEqual([true, 3]);
    const resumed = await train(options, runDir);
    expect(resumed.step).toBe(6);
    whole.weights.forEach((w, i) => expect(maxDifference(w, resumed.weights[i])).toBeLessThan(1e-6));
  });

  it('resumes a fused run with tfjs ops and a tfjs run fused (same checkpoint format)', async () => {
    const whole = await train({ ...options, fused: false }, path.join(tmp, 'whole-tfjs'));
    for (const [before, after] of [
      [true, false],
      [false, true],
    ]) {
      const runDir = path.join(tmp, `switch-${before}`);
      await train({ ...options, fused: before }, runDir, 3);
      const resumed = await train({ ...options, fused: after }, runDir);
      expect(resumed.step).toBe(6);
      // Half the run on either path: agreement as between the whole runs (mlpKernel.test.ts).
      whole.weights.forEach((w, i) => {
        const meanDifference = w.reduce((sum, x, j) => sum + Math.abs(x - resumed.weights[i][j]), 0) / w.reduce((sum, x) => sum + Math.abs(x), 0);
        expect(meanDifference).toBeLessThan(5e-3);
      });
    }
  });

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    await train({ ...options, steps: 4 }, path.join(tmp, 'leak'));
    expect(tf.memory().numTensors).toBe(before);
  });
});
