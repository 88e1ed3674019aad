/**
 * Where the fused MLP step (main/ml/mlpKernel.ts) stops beating tfjs's dense kernels: CPU ms per
 * gradient step of the `fast` preset (batch 400) on batches of random pixel patterns with a given
 * share of nonzero pixels, through tfjs's ops and through the kernel. Sets DENSE_CROSSOVER.
 *
 *   npx tsx bench/mlpCrossover.ts
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../main/ml/backend.ts';
import { PIXELS } from '../main/ml/dataset.ts';
import { localGradientStep, trainableVariables } from '../main/ml/gradientStep.ts';
import { MlpKernel, readWeights } from '../main/ml/mlpKernel.ts';
import { PRESETS, createModel } from '../main/ml/models.ts';
import { median } from './measure.ts';

const BATCH = 400;
const DENSITIES = [0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0];
const RUNS = 9;

/**
 * Median CPU ms of RUNS calls of `work`: the process's (this thread's schedstat counts in
 * scheduler ticks, too coarse for calls of 10-40 ms).
 */
async function cpuMs(work: () => Promise<void> | void): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const before = process.cpuUsage();
    await work();
    const used = process.cpuUsage(before);
    times.push((used.user + used.system) / 1000);
  }
  return median(times);
}

await selectBackend('wasm');
const model = createModel('fast', 1);
const tfjs = localGradientStep(model, PRESETS.fast.recipe, BATCH);
const kernel = new MlpKernel({ inputs: PIXELS, hidden: 500 }, BATCH);
const variables = trainableVariables(model);
let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (const density of DENSITIES) {
  const xs = new Float32Array(BATCH * PIXELS).map(() => (random() < density ? 0.01 + 0.99 * random() : 0));
  for (const batch of [tfjs, kernel]) {
    batch.xs.set(xs);
    batch.labels.fill(3);
  }
  const viaTfjs = await cpuMs(async () => tf.dispose((await tfjs.compute(BATCH)).gradients));
  const viaKernel = await cpuMs(() => {
    readWeights(variables, kernel.weights);
    kernel.compute(0, BATCH, BATCH);
  });
  console.log(`density ${density}: tfjs ${viaTfjs.toFixed(1)} ms, kernel ${viaKernel.toFixed(1)} ms`);
}
