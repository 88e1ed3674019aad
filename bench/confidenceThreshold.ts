/**
 * How the "not sure" threshold of the prediction cards was chosen: the confidence (top class
 * probability) of a model's right and wrong answers on MNIST's validation set (5,000 images the
 * model never trained on). A threshold is good when most mistakes fall below it and few right
 * answers do.
 *
 *   npx digits train --run /tmp/fast            # the default preset, default settings
 *   npx tsx bench/confidenceThreshold.ts --model /tmp/fast/model [--set validation|test]
 *
 * Prints, per candidate threshold, the share of mistakes and of right answers below it, and the
 * stroke widths behind "ink unlike pen strokes" (MNIST's training digits, as the cards measure them).
 */
import { parseArgs } from 'node:util';
import { selectBackend } from '../main/ml/backend.ts';
import { CLASSES, PIXELS } from '../main/ml/dataset.ts';
import { predictSet } from '../main/ml/evaluate.ts';
import { loadMnist } from '../main/ml/mnist.ts';
import { loadModelFolder } from '../main/ml/modelFolder.ts';
import { MAX_STROKE_WIDTH, strokeWidth } from '../main/ml/predict.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, set: { type: 'string', default: 'validation' } } });
if (!values.model) throw new Error('--model DIR is required');
await selectBackend('wasm');
const data = await loadMnist();
const set = values.set === 'test' ? data.test : data.validation;
const { model } = await loadModelFolder(values.model);
const probabilities = predictSet(model, set);

const right: number[] = [];
const wrong: number[] = [];
for (let i = 0; i < set.count; i++) {
  let best = 0;
  for (let c = 1; c < CLASSES; c++) if (probabilities[i * CLASSES + c] > probabilities[i * CLASSES + best]) best = c;
  (best === set.labels[i] ? right : wrong).push(probabilities[i * CLASSES + best]);
}
const below = (values: number[], t: number) => values.filter((v) => v < t).length / values.length;
console.log(`${values.set}: ${set.count} images, ${wrong.length} mistakes (${((wrong.length / set.count) * 100).toFixed(2)}%)`);
console.log('threshold  mistakes below  right answers below');
for (const t of [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99]) {
  console.log(`${t.toFixed(2).padStart(9)}  ${(below(wrong, t) * 100).toFixed(1).padStart(13)}%  ${(below(right, t) * 100).toFixed(1).padStart(18)}%`);
}
const sorted = [...wrong].sort((a, b) => a - b);
console.log(`median confidence of a mistake: ${(sorted[Math.floor(sorted.length / 2)] * 100).toFixed(1)}%`);

// Stroke width of each training digit, as the prediction cards measure it.
const widths: number[] = [];
const pixels = new Float32Array(PIXELS);
for (let i = 0; i < data.train.count; i++) {
  for (let p = 0; p < PIXELS; p++) pixels[p] = data.train.images[i * PIXELS + p] / 255;
  widths.push(strokeWidth(pixels));
}
widths.sort((a, b) => a - b);
const q = (f: number) => widths[Math.min(widths.length - 1, Math.floor(f * widths.length))].toFixed(2);
console.log(`stroke width of MNIST training digits (28x28 px): median ${q(0.5)}, 99th percentile ${q(0.99)}, 99.9th ${q(0.999)}, max ${q(1)}`);
console.log(`above ${MAX_STROKE_WIDTH}: ${widths.filter((w) => w > MAX_STROKE_WIDTH).length} of ${widths.length}`);
model.dispose();
