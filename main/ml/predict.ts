/**
 * Prediction on image files: each file is decoded and preprocessed on its own (a corrupt one
 * fails alone), then all the good ones go through the model in one batch.
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { CLASSES, IMAGE_SIZE, PIXELS, argmax } from './dataset.ts';
import type { DigitReading, Doubt } from './types.ts';

export type { Doubt };
import { preprocessImage, preprocessToPreview, readPicture, segmentDigits, type PreparedImage, type PreprocessMode } from './preprocess.ts';

/** A picture to read: a path on disk, or bytes with the name to report them under. */
export type ImageSource = string | { name: string; bytes: Uint8Array };

export interface DigitPrediction extends DigitReading {
  file: string;
}

export interface PredictionFailure {
  file: string;
  error: string;
  code?: string;
}

export type PredictionResult = DigitPrediction | PredictionFailure;

export function isFailure<T extends object>(result: T | PredictionFailure): result is PredictionFailure {
  return 'error' in result;
}

/**
 * Below this confidence an answer is shown as "not sure". Measured with bench/confidenceThreshold.ts
 * on MNIST's 5,000 validation images and the default preset's model (98.3% test accuracy): 73% of
 * its 74 mistakes fall below 0.9, and 2.2% of its right answers (0.8: 54% and 1.2%; 0.95: 84% and
 * 3.1%).
 */
export const LOW_CONFIDENCE = 0.9;
/**
 * Stroke width (pixels of the 28x28 input) above which the ink is unlike pen strokes (filled
 * areas, a photo's shapes). MNIST's 55,000 training digits measure median 1.96, 99th percentile
 * 3.61, 99.9th 4.56 and maximum 6.64 by `strokeWidth` (bench/confidenceThreshold.ts); 25 of
 * them (0.05%) are above 5.
 */
export const MAX_STROKE_WIDTH = 5;
/** Why an answer may not be what the picture shows. */
/** A picture read as one digit, and also as a row of digits when it holds several. */
export interface PictureReading extends DigitPrediction {
  /** Left to right, when the picture holds two or more separate marks side by side; else empty. */
  row: DigitPrediction[];
  /** The row's digits as text ("2024"); empty when `row` is. */
  number: string;
  doubts: Doubt[];
}

/**
 * Mean stroke width of a 28x28 input (784 values in [0, 1], ink = 1), in pixels: the ink
 * (values >= 0.5) has area A and boundary length P; a stroke of width w and length L has A = wL
 * and P = 2L, so w = 2A / P. A filled shape gives a large width, a pen stroke 1.5-3.
 */
export function strokeWidth(pixels: ArrayLike<number>): number {
  const ink = (x: number, y: number) => x >= 0 && y >= 0 && x < IMAGE_SIZE && y < IMAGE_SIZE && pixels[y * IMAGE_SIZE + x] >= 0.5;
  let area = 0;
  let boundary = 0;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      if (!ink(x, y)) continue;
      area++;
      boundary += Number(!ink(x - 1, y)) + Number(!ink(x + 1, y)) + Number(!ink(x, y - 1)) + Number(!ink(x, y + 1));
    }
  }
  return boundary ? (2 * area) / boundary : 0;
}

/** How many files are decoded at once; sharp has its own thread pool, this bounds memory. */
const DECODE_CONCURRENCY = 4;

function sourceName(source: ImageSource): string {
  return typeof source === 'string' ? source : source.name;
}

/**
 * Class probabilities for preprocessed inputs: `pixels` holds n * 784 values in [0, 1]
 * (ink = 1); returns n rows of 10 probabilities.
 */
export function classify(model: tf.LayersModel, pixels: Float32Array, n: number): number[][] {
  if (n === 0) return [];
  const flat = tf.tidy(() => {
    const x = tf.tensor4d(pixels, [n, IMAGE_SIZE, IMAGE_SIZE, 1]);
    return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
  return Array.from({ length: n }, (_, i) => Array.from(flat.subarray(i * CLASSES, (i + 1) * CLASSES)));
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return results;
}

function errorOf(file: string, error: unknown): PredictionFailure {
  const code = (error as { code?: unknown }).code;
  return { file, error: (error as Error).message, code: typeof code === 'string' ? code : undefined };
}

interface PreparedFile {
  file: string;
  image: PreparedImage;
}

/** One prediction per prepared image, batched through the model. */
function classifyPrepared(model: tf.LayersModel, items: PreparedFile[]): DigitPrediction[] {
  const pixels = new Float32Array(items.length * PIXELS);
  items.forEach(({ image }, i) => pixels.set(image.pixels, i * PIXELS));
  return classify(model, pixels, items.length).map((probabilities, i) => {
    const digit = argmax(probabilities);
    const { file, image } = items[i];
    return { file, digit, confidence: probabilities[digit], probabilities, input: preprocessToPreview(image) };
  });
}

export interface NumberPrediction {
  file: string;
  /** The digits read left to right, e.g. "2026". */
  number: string;
  digits: DigitPrediction[];
}

/**
 * Reads each picture as a row of digits (a year, a meter, a form field): segments it into single
 * digits left to right and predicts each. Each file succeeds or fails on its own.
 */
export async function predictNumbers(model: tf.LayersModel, sources: ImageSource[]): Promise<(NumberPrediction | PredictionFailure)[]> {
  return mapLimited(sources, DECODE_CONCURRENCY, async (source) => {
    const file = sourceName(source);
    try {
      const input = typeof source === 'string' ? source : source.bytes;
      const images = await segmentDigits(input, { fileName: path.basename(file) });
      const digits = classifyPrepared(model, images.map((image) => ({ file, image })));
      return { file, number: digits.map((d) => d.digit).join(''), digits };
    } catch (error) {
      return errorOf(file, error);
    }
  });
}

export async function predictImages(
  model: tf.LayersModel,
  sources: ImageSource[],
  options: { mode?: PreprocessMode } = {},
): Promise<PredictionResult[]> {
  const prepared = await mapLimited(sources, DECODE_CONCURRENCY, async (source) => {
    const file = sourceName(source);
    try {
      const input = typeof source === 'string' ? source : source.bytes;
      const image = await preprocessImage(input, { mode: options.mode, fileName: path.basename(file) });
      return { file, image };
    } catch (error) {
      return errorOf(file, error);
    }
  });
  const predictions = classifyPrepared(model, prepared.filter((p): p is PreparedFile => 'image' in p));
  let next = 0;
  return prepared.map((p) => ('image' in p ? predictions[next++] : p));
}

/**
 * Reads each picture as one digit and, when it holds several marks side by side, as a number;
 * says why an answer may be wrong (`doubts`). One decode per file; all inputs go through the
 * model in one batch. Each file succeeds or fails on its own.
 */
export async function readPictures(model: tf.LayersModel, sources: ImageSource[]): Promise<(PictureReading | PredictionFailure)[]> {
  const read = await mapLimited(sources, DECODE_CONCURRENCY, async (source) => {
    const file = sourceName(source);
    try {
      const input = typeof source === 'string' ? source : source.bytes;
      return { file, picture: await readPicture(input, { fileName: path.basename(file) }) };
    } catch (error) {
      return errorOf(file, error);
    }
  });
  const items: PreparedFile[] = [];
  for (const r of read) {
    if (isFailure(r)) continue;
    items.push({ file: r.file, image: r.picture.whole });
    if (r.picture.row.length > 1) for (const image of r.picture.row) items.push({ file: r.file, image });
  }
  const predictions = classifyPrepared(model, items);
  let next = 0;
  return read.map((r): PictureReading | PredictionFailure => {
    if (isFailure(r)) return r;
    const whole = predictions[next++];
    const row = r.picture.row.length > 1 ? predictions.slice(next, (next += r.picture.row.length)) : [];
    const doubts: Doubt[] = [];
    if (row.length > 1) doubts.push('several-digits');
    if (strokeWidth(r.picture.whole.pixels) > MAX_STROKE_WIDTH) doubts.push('unlike-strokes');
    if (whole.confidence < LOW_CONFIDENCE) doubts.push('low-confidence');
    return { ...whole, row, number: row.map((d) => d.digit).join(''), doubts };
  });
}
