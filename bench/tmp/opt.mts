import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../main/ml/backend.ts';
import { createModel } from '../../main/ml/models.ts';
import { FusedOptimizer } from '../../main/ml/fusedOptimizer.ts';
import { heapView } from '../../main/ml/gradientStep.ts';
await selectBackend('wasm');
const model = createModel('fast', 1);
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const avgs = vars.map((v) => tf.variable(v, false));
const opt = new FusedOptimizer('adam', 1e-3);
const grads = vars.map((v) => tf.randomNormal(v.shape));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let r = 0; r < 6; r++) {
  let t = cpu();
  opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] })));
  const a = cpu() - t; t = cpu();
  opt.updateAverages(avgs, vars, 0.99);
  const b = cpu() - t;
  console.log('adam', a.toFixed(2), 'ema', b.toFixed(2), vars.map((v) => tf.backend().refCount(v.dataId)).join(), avgs.map((v) => tf.backend().refCount(v.dataId)).join(), heapView(vars[0]) !== null);
}
