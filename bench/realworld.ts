/**
 * How well does a trained model read real-looking pictures, with the seed's preprocessing and
 * with the MNIST-like one?
 *
 *   npx tsx bench/realworld.ts --model DIR [--count N] [--seed S] [--json]
 *
 * (a) N MNIST test digits rendered as photos under four conditions: filling the frame (like the
 *     seed tutorial's own example pictures), varied (size, position, resolution, paper, blur,
 *     noise, JPEG), light ink on a dark board, and a fine pen;
 *     Also MNIST's own test images as PNG files, as an in-distribution check;
 * (b) the digits 0-9 typeset in every font fontconfig knows, at three sizes, normal and bold.
 * Every picture goes through both pipelines, and the model's accuracy is reported for each.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend } from '../main/ml/backend.ts';
import { IMAGE_SIZE, PIXELS } from '../main/ml/dataset.ts';
import { loadMnist } from '../main/ml/mnist.ts';
import { loadModelFolder } from '../main/ml/modelFolder.ts';
import { type PreprocessMode, preprocessImage } from '../main/ml/preprocess.ts';
import { encodePixels, listFontFamilies, type Paper, type PhotoOptions, renderMnistDigitPhoto, renderTypesetDigit } from '../test/testImages.ts';
import { seededRandom } from '../main/ml/random.ts';

const MODES: PreprocessMode[] = ['seed', 'mnist'];
const DEFAULT_COUNT = 200;
const FONT_SIZES = [40, 80, 160];
const WEIGHTS = ['normal', 'bold'] as const;

interface Sample {
  picture: Uint8Array;
  label: number;
}

interface GroupResult {
  group: string;
  description: string;
  count: number;
  /** Per pipeline: fraction read correctly; pictures a pipeline refused count as wrong. */
  accuracy: Record<PreprocessMode, number>;
  refused: Record<PreprocessMode, number>;
  /** The first few refusal messages per pipeline. */
  refusals: Record<PreprocessMode, string[]>;
}

const REFUSALS_SHOWN = 3;

function usage(message?: string): never {
  if (message) console.error(message);
  console.error('usage: npx tsx bench/realworld.ts --model DIR [--count N] [--seed S] [--json]');
  process.exit(2);
}

/** Photo conditions for one digit; `random` makes them reproducible. */
function photoConditions(kind: 'frame' | 'varied' | 'board' | 'fine', random: () => number, seed: number): PhotoOptions {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  if (kind === 'frame') {
    // The seed's own example photos: a digit written large in the middle of a small picture.
    const side = pick([200, 280, 400]);
    return { width: side, height: side, scale: side / IMAGE_SIZE, paper: 'white', noise: 3, format: 'jpeg', quality: 90, seed };
  }
  const width = pick([240, 400, 640, 1024, 1600]);
  const height = Math.round(width * pick([0.75, 1, 1.33]));
  // The 28x28 frame covers 20% to 90% of the shorter side.
  const frame = Math.min(width, height) * (0.2 + 0.7 * random());
  const scale = frame / IMAGE_SIZE;
  const slackX = Math.max(0, (width - frame) / 2);
  const slackY = Math.max(0, (height - frame) / 2);
  return {
    width,
    height,
    scale,
    offsetX: (random() * 2 - 1) * slackX,
    offsetY: (random() * 2 - 1) * slackY,
    paper: pick<Paper>(['white', 'grey', 'gradient']),
    blur: random() < 0.5 ? 0 : random() * scale * 0.6,
    noise: random() * 14,
    inkTone: 20 + random() * 60,
    format: random() < 0.6 ? 'jpeg' : 'png',
    quality: 50 + Math.floor(random() * 45),
    invert: kind === 'board',
    fineness: kind === 'fine' ? 0.85 : 0,
    seed,
  };
}

/** Predicted classes for a batch of prepared inputs (each 784 floats). */
function classify(model: tf.LayersModel, inputs: Float32Array[]): number[] {
  if (inputs.length === 0) return [];
  return tf.tidy(() => {
    const batch = new Float32Array(inputs.length * PIXELS);
    inputs.forEach((pixels, i) => batch.set(pixels, i * PIXELS));
    const x = tf.tensor4d(batch, [inputs.length, IMAGE_SIZE, IMAGE_SIZE, 1]);
    return Array.from((model.predict(x) as tf.Tensor).argMax(-1).dataSync());
  });
}

async function measure(model: tf.LayersModel, group: string, description: string, samples: Sample[]): Promise<GroupResult> {
  const accuracy = { seed: 0, mnist: 0 } as Record<PreprocessMode, number>;
  const refused = { seed: 0, mnist: 0 } as Record<PreprocessMode, number>;
  const refusals = { seed: [], mnist: [] } as Record<PreprocessMode, string[]>;
  for (const mode of MODES) {
    const inputs: Float32Array[] = [];
    const labels: number[] = [];
    for (const [index, sample] of samples.entries()) {
      try {
        inputs.push((await preprocessImage(sample.picture, { mode, fileName: `${group} #${index}` })).pixels);
        labels.push(sample.label);
      } catch (error) {
        refused[mode]++;
        if (refusals[mode].length < REFUSALS_SHOWN) refusals[mode].push(error instanceof Error ? error.message : String(error));
      }
    }
    const predicted = classify(model, inputs);
    const correct = predicted.filter((p, i) => p === labels[i]).length;
    accuracy[mode] = samples.length ? correct / samples.length : 0;
  }
  return { group, description, count: samples.length, accuracy, refused, refusals };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      count: { type: 'string', default: String(DEFAULT_COUNT) },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.model) usage('--model DIR is required (a folder with model.json and weights.bin)');
  const count = Number(values.count);
  const seed = Number(values.seed);
  if (!Number.isInteger(count) || count < 1) usage(`--count must be a whole number of digits, 1 or more; got ${values.count}`);
  if (!Number.isInteger(seed)) usage(`--seed must be a whole number; got ${values.seed}`);

  const backend = await selectBackend();
  const { model } = await loadModelFolder(values.model);
  const mnist = await loadMnist();
  const random = seededRandom(seed);
  const started = performance.now();
  const results: GroupResult[] = [];

  const digits = Array.from({ length: Math.min(count, mnist.test.count) }, (_, i) => ({
    pixels: mnist.test.images.subarray(i * PIXELS, (i + 1) * PIXELS),
    label: mnist.test.labels[i],
  }));
  {
    // In-distribution check: MNIST's own test images as 28x28 PNG files (light ink on black).
    const samples: Sample[] = [];
    for (const digit of digits) samples.push({ picture: await encodePixels(digit.pixels, IMAGE_SIZE, IMAGE_SIZE, 1), label: digit.label });
    results.push(await measure(model, 'mnist-itself', "MNIST test images saved as PNG (the seed's app inverts them: it expects dark ink)", samples));
  }
  const photoGroups = [
    ['photo-frame', 'MNIST digits as photos, written large in the middle (like the seed tutorial\'s own pictures)', 'frame'],
    ['photo-varied', 'MNIST digits as photos: varied size, position, resolution, paper, blur, noise, JPEG', 'varied'],
    ['photo-board', 'as varied, but light ink on a dark board', 'board'],
    ['photo-fine-pen', 'as varied, written with a fine pen (strokes a third as wide)', 'fine'],
  ] as const;
  for (const [group, description, kind] of photoGroups) {
    const samples: Sample[] = [];
    for (const [i, digit] of digits.entries()) {
      const picture = await renderMnistDigitPhoto(digit.pixels, photoConditions(kind, random, seed * 100_003 + i));
      samples.push({ picture, label: digit.label });
    }
    results.push(await measure(model, group, description, samples));
  }

  const fonts = listFontFamilies();
  if (fonts.length === 0) console.error('fc-list found no fonts: skipping typeset digits');
  for (const fontSize of FONT_SIZES) {
    const samples: Sample[] = [];
    for (const font of fonts) {
      for (const weight of WEIGHTS) {
        for (let digit = 0; digit < 10; digit++) {
          const side = Math.round(fontSize * 1.6);
          samples.push({ picture: await renderTypesetDigit(digit, { font, weight, fontSize, width: side, height: side }), label: digit });
        }
      }
    }
    if (samples.length) {
      results.push(await measure(model, `typeset-${fontSize}px`, `digits 0-9 in ${fonts.length} fonts x ${WEIGHTS.length} weights at ${fontSize} px`, samples));
    }
  }

  const seconds = (performance.now() - started) / 1000;
  if (values.json) {
    console.log(JSON.stringify({ model: values.model, backend: backend.name, count: digits.length, seed, fonts, seconds, results }, null, 2));
    return;
  }
  console.log(`model ${values.model}; backend ${backend.name}; ${digits.length} MNIST test digits per photo group; fonts: ${fonts.join(', ') || 'none'}`);
  console.log('');
  const header = ['group'.padEnd(16), 'pictures'.padStart(9), 'seed'.padStart(8), 'refused'.padStart(8), 'mnist'.padStart(8), 'refused'.padStart(8)];
  console.log(`${header.join('')}   what`);
  for (const r of results) {
    const cells = [r.group.padEnd(16), String(r.count).padStart(9)];
    for (const mode of MODES) cells.push(`${(r.accuracy[mode] * 100).toFixed(1)}%`.padStart(8), String(r.refused[mode]).padStart(8));
    console.log(`${cells.join('')}   ${r.description}`);
  }
  console.log('');
  console.log(`(${seconds.toFixed(0)} s; a refused picture counts as wrong)`);
  for (const r of results) {
    for (const mode of MODES) for (const message of r.refusals[mode]) console.log(`refused by ${mode}: ${message}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
