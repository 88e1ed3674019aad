/**
 * How the default preset's settings were chosen: time from scratch to 98% test accuracy for a
 * preset at a given batch size and learning rate, once per seed.
 *
 *   npx tsx bench/tuneDefault.ts --preset fast --batch-size 400 --learning-rate 0.008 [--seeds 3] [--epochs 12] [--full]
 *
 * Prints one JSON line per seed: seconds to 98% (the test evaluations themselves excluded, null if
 * never reached) and the test accuracy after each epoch. --full keeps training after 98%.
 */
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../main/ml/backend.ts';
import { evaluateModel } from '../main/ml/evaluate.ts';
import { loadMnist } from '../main/ml/mnist.ts';
import { DEFAULT_PRESET, isPresetName } from '../main/ml/models.ts';
import { trainModel } from '../main/ml/trainer.ts';

const TARGET = 0.98;

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: DEFAULT_PRESET },
    'batch-size': { type: 'string' },
    'learning-rate': { type: 'string' },
    seeds: { type: 'string', default: '1' },
    epochs: { type: 'string', default: '12' },
    full: { type: 'boolean' },
  },
});
if (!isPresetName(values.preset)) throw new Error(`unknown preset ${values.preset}`);
const preset = values.preset;
const batchSize = values['batch-size'] ? Number(values['batch-size']) : undefined;
const learningRate = values['learning-rate'] ? Number(values['learning-rate']) : undefined;

await selectBackend('wasm');
const data = await loadMnist();
for (let seed = 1; seed <= Number(values.seeds); seed++) {
  const started = performance.now();
  let excluded = 0;
  let secondsTo98: number | null = null;
  const curve: number[] = [];
  const controller = new AbortController();
  const runDir = path.join(os.tmpdir(), `digits-tune-${preset}-${process.pid}-${seed}`);
  const result = await trainModel(
    data,
    { preset, runDir, epochs: Number(values.epochs), batchSize, learningRate, validate: false, checkpointEvery: 1e9, seed },
    {
      signal: controller.signal,
      onEpochEnd: (_epoch, model) => {
        const t = performance.now();
        const accuracy = evaluateModel(model, data.test).accuracy;
        curve.push(Number((accuracy * 100).toFixed(2)));
        if (accuracy >= TARGET && secondsTo98 === null) {
          secondsTo98 = Number(((t - started - excluded) / 1000).toFixed(1));
          if (!values.full) controller.abort();
        }
        excluded += performance.now() - t;
      },
    },
  );
  result.model.dispose();
  await rm(runDir, { recursive: true, force: true });
  console.log(JSON.stringify({ preset, batchSize, learningRate, seed, secondsTo98, testAccuracyByEpoch: curve }));
}
