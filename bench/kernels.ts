/**
 * `npx tsx bench/kernels.ts [--batch N] [--runs N]`: the WASM backend's kernels behind `cnn`
 * training, timed at the preset's shapes, in GFLOP/s by wall clock and by this thread's CPU time
 * (a shared machine disturbs the first far more than the second), next to the ceiling measured in
 * the same run: XNNPACK's matrix multiply on large square matrices, the fastest arithmetic this
 * backend does on one core.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../main/ml/backend.ts';
import { threadCpuMs as cpuMs } from './measure.ts';

const { values } = parseArgs({ options: { batch: { type: 'string' }, runs: { type: 'string' } } });
const BATCH = Number(values.batch ?? 100);
const RUNS = Number(values.runs ?? 10);


interface Row {
  kernel: string;
  shape: string;
  ms: number;
  cpuMs: number;
  gflops: number;
  cpuGflops: number;
}

function measure(kernel: string, shape: string, flop: number, run: () => tf.Tensor): Row {
  run().dispose();
  const wall = performance.now();
  const cpu = cpuMs();
  for (let i = 0; i < RUNS; i++) {
    const out = run();
    out.dataSync();
    out.dispose();
  }
  const ms = (performance.now() - wall) / RUNS;
  const cpuPer = (cpuMs() - cpu) / RUNS;
  return { kernel, shape, ms, cpuMs: cpuPer, gflops: flop / ms / 1e6, cpuGflops: flop / cpuPer / 1e6 };
}

await selectBackend('wasm');
const B = BATCH;
const rows: Row[] = [];
const n = 1024;
const a = tf.randomNormal([n, n]);
const b = tf.randomNormal([n, n]);
rows.push(measure('MatMul (ceiling)', `${n}x${n}x${n}`, 2 * n ** 3, () => tf.matMul(a, b)));

// conv1: [B, 28, 28, 1] * [5, 5, 1, 32], 'same'; conv2: [B, 14, 14, 32] * [5, 5, 32, 64], 'same'.
const layers = [
  { name: 'conv1', x: [B, 28, 28, 1], f: [5, 5, 1, 32] },
  { name: 'conv2', x: [B, 14, 14, 32], f: [5, 5, 32, 64] },
] as const;
for (const layer of layers) {
  const [batch, h, w, ci] = layer.x;
  const [kh, kw, , co] = layer.f;
  const x = tf.randomNormal([...layer.x]) as tf.Tensor4D;
  const f = tf.randomNormal([...layer.f]) as tf.Tensor4D;
  const dy = tf.randomNormal([batch, h, w, co]) as tf.Tensor4D;
  const flop = 2 * batch * h * w * kh * kw * ci * co;
  const shape = `x ${layer.x.join('x')}, filter ${layer.f.join('x')}`;
  rows.push(measure(`${layer.name} Conv2D (forward)`, shape, flop, () => tf.conv2d(x, f, 1, 'same')));
  const convAttrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' };
  rows.push(
    measure(`${layer.name} Conv2DBackpropFilter`, shape, flop, () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...convAttrs, filterShape: [...layer.f] }) as tf.Tensor,
    ),
  );
  if (ci > 1) {
    rows.push(
      measure(`${layer.name} Conv2DBackpropInput`, shape, flop, () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...convAttrs, inputShape: [...layer.x] }) as tf.Tensor,
      ),
    );
  }
}
const pooled = tf.randomNormal([B, 28, 28, 32]) as tf.Tensor4D;
const poolDy = tf.randomNormal([B, 14, 14, 32]) as tf.Tensor4D;
const poolOut = tf.maxPool(pooled, 2, 2, 'valid');
rows.push(
  measure('MaxPoolGrad', `${B}x28x28x32`, 0, () =>
    tf.engine().runKernel('MaxPoolGrad', { dy: poolDy, input: pooled, output: poolOut }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor,
  ),
);
const hidden = tf.randomNormal([B, 3136]);
const kernel = tf.randomNormal([3136, 256]);
rows.push(measure('MatMul dense (forward)', `${B}x3136 * 3136x256`, 2 * B * 3136 * 256, () => tf.matMul(hidden, kernel)));
const dHidden = tf.randomNormal([B, 256]);
rows.push(measure('MatMul dense dW (transposeA)', `(${B}x3136)^T * ${B}x256`, 2 * B * 3136 * 256, () => tf.matMul(hidden, dHidden, true, false)));
// In training the weights are new data every step, which the backend packs anew (above: the
// same weights every run, packed once). A copy made outside the timing stands for the new step's weights.
// (clone() would share the data, and so the packed copy.)
const kernelValues = kernel.dataSync();
const newData = () => tf.tensor(kernelValues, kernel.shape);
let freshKernels = Array.from({ length: RUNS + 1 }, newData);
let fresh = 0;
const nextKernel = () => freshKernels[fresh++ % freshKernels.length];
const refresh = () => {
  tf.dispose(freshKernels);
  freshKernels = Array.from({ length: RUNS + 1 }, newData);
};
rows.push(measure('MatMul dense (forward), new weights', `${B}x3136 * 3136x256`, 2 * B * 3136 * 256, () => tf.matMul(hidden, nextKernel())));
refresh();
rows.push(measure('MatMul dense dx (transposeB), new weights', `${B}x256 * (3136x256)^T`, 2 * B * 3136 * 256, () => tf.matMul(dHidden, nextKernel(), false, true)));

console.log(`WASM kernels at cnn shapes, batch ${B}, ${RUNS} runs each; load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores`);
const ceiling = rows[0].cpuGflops;
console.log(['kernel', 'shape', 'ms', 'CPU ms', 'GFLOP/s', 'GFLOP/s (CPU)', 'of ceiling'].join(' | '));
for (const r of rows) {
  const g = (v: number) => (v > 0 && Number.isFinite(v) ? v.toFixed(1) : '-');
  console.log([r.kernel, r.shape, r.ms.toFixed(2), r.cpuMs.toFixed(2), g(r.gflops), g(r.cpuGflops), r.cpuGflops > 0 ? `${Math.round((100 * r.cpuGflops) / ceiling)}%` : '-'].join(' | '));
}
