/**
 * `npx tsx bench/cnnStep.ts [--batch N] [--steps N] [--backend wasm|cpu]`: where one `cnn`
 * training step spends its time on this thread, kernel by kernel (tf.profile), plus the parts
 * outside the gradient computation (batch building with shifts, the Adam update, the moving
 * average), each as a median over `steps` steps: kernels by the process's CPU time, the parts by
 * wall clock, and this thread's CPU time for the whole step.
 * Run it at the batch a worker computes (50 with 2 threads) and at the whole batch (100).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../main/ml/backend.ts';
import { fillBatch } from '../main/ml/batches.ts';
import { localGradientStep } from '../main/ml/gradientStep.ts';
import { loadMnist } from '../main/ml/mnist.ts';
import { createModel, PRESETS } from '../main/ml/models.ts';
import { seededRandom } from '../main/ml/random.ts';
import { median, threadCpuMs as cpuMs } from './measure.ts';

const { values } = parseArgs({
  options: { batch: { type: 'string' }, steps: { type: 'string' }, backend: { type: 'string' } },
});
const BATCH = Number(values.batch ?? 100);
const STEPS = Number(values.steps ?? 8);


/** A kernel call named by its kernel and input shapes, so conv1's and conv2's calls stay apart. */
function label(name: string, shapes: number[][]): string {
  return `${name} ${shapes.map((s) => (s ? s.join('x') : '?')).join(' ')}`;
}

await selectBackend((values.backend as BackendName | undefined) ?? 'wasm');
// Kernels are timed by the process's CPU time (the busy thread is this one: the wasm backend runs
// single-threaded in Node), so other processes on the machine do not inflate them.
const processCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
(tf.backend() as unknown as { time: (f: () => void) => Promise<{ kernelMs: number }> }).time = (f) => {
  const start = processCpuMs();
  f();
  return Promise.resolve({ kernelMs: processCpuMs() - start });
};
const data = await loadMnist();
const recipe = PRESETS.cnn.recipe;
const model = createModel('cnn', 1);
const optimizer = tf.train.adam(recipe.learningRate);
const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
const averages = trainable.map((v) => tf.variable(v, false));
const step = localGradientStep(model, recipe, BATCH);
const random = seededRandom(1);

const kernelTimes = new Map<string, number[]>();
const parts: Record<string, number[]> = { batch: [], gradients: [], adam: [], average: [], step: [], stepCpu: [] };
for (let s = 0; s < STEPS + 2; s++) {
  const indices = Array.from({ length: BATCH }, (_, i) => (s * BATCH + i) % data.train.count);
  const t0 = performance.now();
  const c0 = cpuMs();
  fillBatch(data.train, indices, step.xs, step.labels, recipe.augmentShift, random);
  const t1 = performance.now();
  let gradients: tf.NamedTensorMap = {};
  const profile = await tf.profile(async () => {
    gradients = (await step.compute(BATCH)).gradients;
  });
  const t2 = performance.now();
  optimizer.applyGradients(Object.entries(gradients).map(([name, tensor]) => ({ name, tensor })));
  tf.dispose(gradients);
  const t3 = performance.now();
  tf.tidy(() => averages.forEach((a, i) => a.assign(a.mul(0.999).add(trainable[i].mul(0.001)))));
  await averages[0].data();
  const t4 = performance.now();
  const c4 = cpuMs();
  if (s < 2) continue; // warm-up: XNNPACK operators are created and cached on the first steps
  const perStep = new Map<string, number>();
  for (const k of profile.kernels) {
    const key = label(k.name, k.inputShapes);
    perStep.set(key, (perStep.get(key) ?? 0) + (k.kernelTimeMs as number));
  }
  for (const [key, ms] of perStep) kernelTimes.set(key, [...(kernelTimes.get(key) ?? []), ms]);
  parts.batch.push(t1 - t0);
  parts.gradients.push(t2 - t1);
  parts.adam.push(t3 - t2);
  parts.average.push(t4 - t3);
  parts.step.push(t4 - t0);
  parts.stepCpu.push(c4 - c0);
}

console.log(
  `cnn step at batch ${BATCH} (${tf.getBackend()}), median of ${STEPS} steps; load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores`,
);
console.log(
  `step ${median(parts.step).toFixed(1)} ms wall, ${median(parts.stepCpu).toFixed(1)} ms CPU: batch ${median(parts.batch).toFixed(1)}, ` +
    `gradients ${median(parts.gradients).toFixed(1)} (profiled), Adam ${median(parts.adam).toFixed(1)}, moving average ${median(parts.average).toFixed(1)}`,
);
const rows = [...kernelTimes].map(([key, ms]) => ({ key, ms: median(ms) })).sort((p, q) => q.ms - p.ms);
const total = rows.reduce((sum, r) => sum + r.ms, 0);
console.log(`kernels: ${total.toFixed(1)} ms of CPU in all`);
for (const r of rows) {
  if (r.ms < 0.05) continue;
  console.log(`${r.ms.toFixed(2).padStart(8)} ms ${((100 * r.ms) / total).toFixed(1).padStart(5)}%  ${r.key}`);
}
