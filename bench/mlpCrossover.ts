import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../main/ml/backend.ts';
import { createModel, PRESETS } from '../main/ml/models.ts';
import { localGradientStep } from '../main/ml/gradientStep.ts';
import { mlpGradientStep } from '../main/ml/mlpKernel.ts';
await selectBackend('wasm');
const B = 400;
const model = createModel('fast', 1);
const recipe = PRESETS.fast.recipe;
const a = localGradientStep(model, recipe, B);
const b = mlpGradientStep(model, recipe, B)!;
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
for (const d of [0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0]) {
  const xs = new Float32Array(B * 784).map(() => (rand() < d ? rand() * 0.99 + 0.01 : 0));
  const res: string[] = [];
  for (const [label, s] of [['tfjs', a], ['kernel', b]] as const) {
    s.xs.set(xs); s.labels.fill(3);
    const times: number[] = [];
    for (let r = 0; r < 9; r++) { const c = process.cpuUsage(); const g = await s.compute(B); tf.dispose(g.gradients); const u = process.cpuUsage(c); times.push((u.user + u.system) / 1000); }
    times.sort((p, q) => p - q);
    res.push(`${label} ${times[4].toFixed(1)}`);
  }
  console.log('density', d, res.join(' '));
}
