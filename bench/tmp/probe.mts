import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../main/ml/backend.ts';
import { loadMnist } from '../../main/ml/mnist.ts';
import { createModel, PRESETS } from '../../main/ml/models.ts';
import { localGradientStep } from '../../main/ml/gradientStep.ts';
import { mlpGradientStep } from '../../main/ml/mlpKernel.ts';
await selectBackend('wasm');
const data = await loadMnist();
const preset = (process.argv[2] ?? 'fast') as 'fast';
const B = Number(process.argv[3] ?? 400);
const dense = process.argv[4] === 'dense';
const model = createModel(preset, 1);
const recipe = PRESETS[preset].recipe;
const a = localGradientStep(model, recipe, B);
const b = mlpGradientStep(model, recipe, B)!;
for (const s of [a, b]) {
  if (dense) for (let i = 0; i < B * 784; i++) s.xs[i] = ((i * 2654435761) % 1000) / 1000;
  else s.xs.set(Array.from(data.train.images.subarray(0, B * 784), (v) => v / 255));
  s.labels.set(data.train.labels.subarray(0, B));
}
const ra = await a.compute(B), rb = await b.compute(B);
console.log('loss', ra.loss, rb.loss);
for (const name of Object.keys(ra.gradients)) {
  const x = ra.gradients[name].dataSync(), y = rb.gradients[name].dataSync();
  let m = 0, s = 0;
  for (let i = 0; i < x.length; i++) { m = Math.max(m, Math.abs(x[i] - y[i])); s = Math.max(s, Math.abs(x[i])); }
  console.log(name, 'maxdiff', m, 'maxabs', s);
}
for (const [label, s] of [['tfjs', a], ['kernel', b]] as const) {
  const times: number[] = [];
  for (let r = 0; r < 15; r++) { const t = performance.now(); const c = process.cpuUsage(); const g = await s.compute(B); tf.dispose(g.gradients); times.push((process.cpuUsage(c).user + process.cpuUsage(c).system) / 1000); }
  times.sort((p, q) => p - q);
  console.log(label, 'cpu ms median', times[7].toFixed(2));
}
