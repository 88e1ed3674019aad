/**
 * The measurement behind FINE_TUNE (main/ml/pictureTraining.ts): fine-tunes a trained model on
 * 10 pictures per digit of synthetic European handwriting under several settings and reports
 * accuracy on other pictures of the same population, MNIST test accuracy and wall time.
 *
 *   npx tsx bench/tuneFineTune.ts --model DIR [--seeds 1,2] [--held 30] [--only NAME,...]
 *
 * It uses TUNING generator seeds (default 1 = training pictures, 2 = held-out pictures); the
 * benchmark (bench/bench.ts) reports on other seeds, so the defaults are not tuned on what is
 * reported.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { selectBackend } from '../main/ml/backend.ts';
import { PIXELS, type ImageSet } from '../main/ml/dataset.ts';
import { evaluateModel } from '../main/ml/evaluate.ts';
import { renderHandwrittenSet } from '../main/ml/handwriting.ts';
import { pictureInput } from '../main/ml/labelledFolder.ts';
import { loadMnist } from '../main/ml/mnist.ts';
import { loadModelFolder } from '../main/ml/modelFolder.ts';
import { DEFAULT_PRESET, isPresetName } from '../main/ml/models.ts';
import { DEFAULT_AUGMENT, FINE_TUNE, mixTrainingSet, type AugmentOptions } from '../main/ml/pictureTraining.ts';
import { trainModel } from '../main/ml/trainer.ts';

/** Renders `perDigit` handwritten pictures per digit with generator `seed`, as model inputs. */
export async function handwrittenInputs(perDigit: number, seed: number, cacheDir: string | null = null): Promise<ImageSet> {
  const samples = await renderHandwrittenSet(perDigit, seed);
  const set: ImageSet = { images: new Uint8Array(samples.length * PIXELS), labels: new Uint8Array(samples.length), count: samples.length };
  for (const [i, s] of samples.entries()) {
    set.images.set((await pictureInput(s.picture, s.name, cacheDir)).input, i * PIXELS);
    set.labels[i] = s.digit;
  }
  return set;
}

interface Setting {
  name: string;
  learningRate: number;
  epochs: number;
  batchSize: number;
  copies: number;
  replayPerCopy: number;
  augment: boolean;
  /** Augmentation strength when `augment` (default DEFAULT_AUGMENT). */
  strength?: AugmentOptions;
}

const GENTLE: AugmentOptions = { shift: 1, rotation: 6, scale: 0.06, strokeChange: 0.3 };

const BASE: Setting = { name: 'default', ...FINE_TUNE, batchSize: FINE_TUNE.batchSize };
const SETTINGS: Setting[] = [
  BASE,
  { ...BASE, name: 'augmented', augment: true },
  { ...BASE, name: 'no-replay', replayPerCopy: 0 },
  { ...BASE, name: 'lr-3e-4', learningRate: 3e-4 },
  { ...BASE, name: 'lr-3e-3', learningRate: 3e-3 },
  { ...BASE, name: 'epochs-2', epochs: 2 },
  { ...BASE, name: 'epochs-8', epochs: 8 },
  { ...BASE, name: 'copies-10', copies: 10 },
  { ...BASE, name: 'replay-3', replayPerCopy: 3 },
  { ...BASE, name: 'gentle-aug', strength: GENTLE },
  { ...BASE, name: 'gentle-aug-replay-2', strength: GENTLE, replayPerCopy: 2 },
  { ...BASE, name: 'no-aug-replay-2', augment: false, replayPerCopy: 2 },
  { ...BASE, name: 'no-aug-lr-5e-4', augment: false, learningRate: 5e-4 },
  { ...BASE, name: 'no-aug-epochs-2', augment: false, epochs: 2 },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { model: { type: 'string' }, seeds: { type: 'string', default: '1,2' }, held: { type: 'string', default: '30' }, only: { type: 'string' } },
  });
  if (!values.model) throw new Error('--model DIR is required');
  const [trainSeed, heldSeed] = values.seeds.split(',').map(Number);
  const backend = await selectBackend();
  console.error(`Backend: ${backend.name}`);
  const data = await loadMnist();
  const loaded = await loadModelFolder(values.model);
  const preset = loaded.metadata?.preset && isPresetName(loaded.metadata.preset) ? loaded.metadata.preset : DEFAULT_PRESET;
  const pictures = await handwrittenInputs(10, trainSeed);
  const held = await handwrittenInputs(Number(values.held), heldSeed);
  const before = { held: evaluateModel(loaded.model, held).accuracy, mnist: evaluateModel(loaded.model, data.test).accuracy };
  console.log(`before: held-out ${(before.held * 100).toFixed(1)}%, MNIST test ${(before.mnist * 100).toFixed(2)}%`);
  const only = values.only ? new Set(values.only.split(',')) : null;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-tune-'));
  try {
    for (const s of SETTINGS) {
      if (only && !only.has(s.name)) continue;
      const started = performance.now();
      const train = mixTrainingSet({
        pictures,
        mnist: s.replayPerCopy > 0 ? data.train : null,
        copies: s.copies,
        replay: pictures.count * s.copies * s.replayPerCopy,
        augment: s.augment ? (s.strength ?? DEFAULT_AUGMENT) : null,
        seed: 1,
      });
      const weights = loaded.model.getWeights();
      const result = await trainModel(
        { ...data, train },
        { preset, runDir: path.join(tmp, s.name), epochs: s.epochs, batchSize: s.batchSize, learningRate: s.learningRate, initialWeights: weights, validate: false, checkpointEvery: 1e9 },
      );
      const seconds = (performance.now() - started) / 1000;
      const after = { held: evaluateModel(result.model, held).accuracy, mnist: evaluateModel(result.model, data.test).accuracy };
      result.model.dispose();
      console.log(
        `${s.name.padEnd(12)} held-out ${(after.held * 100).toFixed(1)}%  MNIST ${(after.mnist * 100).toFixed(2)}% ` +
          `(${((after.mnist - before.mnist) * 100).toFixed(2)})  ${result.step} steps  ${seconds.toFixed(1)} s`,
      );
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
    loaded.model.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
