/**
 * Prediction on image files: each file is decoded and preprocessed on its own (a corrupt one
 * fails alone), then all the good ones go through the model in one batch.
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { CLASSES, IMAGE_SIZE, PIXELS } from './dataset.ts';
import { preprocessImage, preprocessToPreview, segmentDigits, type PreparedImage, type PreprocessMode } from './preprocess.ts';

/** A picture to read: a path on disk, or bytes with the name to report them under. */
export type ImageSource = string | { name: string; bytes: Uint8Array };

export interface DigitPrediction {
  file: string;
  digit: number;
  confidence: number;
  /** Ten class probabilities, digit 0 first. */
  probabilities: number[];
  /** The 28x28 input the model saw, as grey bytes (ink = 255): "what the model sees". */
  input: Uint8Array;
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
    const digit = probabilities.indexOf(Math.max(...probabilities));
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
