/**
 * Evaluation of a model on a labelled image set: accuracy, mean cross-entropy, the 10x10
 * confusion matrix (rows = true digit, columns = predicted), per-class precision and recall,
 * and the misclassified images.
 */
import * as tf from '@tensorflow/tfjs';
import { CLASSES, IMAGE_SIZE, PIXELS, argmax, bytesToInputs, type ImageSet } from './dataset.ts';
import type { LabelledFolder } from './labelledFolder.ts';
import type { ClassMetrics, Mistake, LabelledReading, SetMetrics } from './types.ts';

export type { ClassMetrics, Mistake, LabelledReading, SetMetrics };

const EVAL_BATCH = 500;
/** Test images listed per diagonal (correct) confusion cell; off-diagonal cells are complete. */
const DIAGONAL_CELL_LIMIT = 50;
/** Probabilities are clipped here before the log, so a confident mistake costs a finite loss. */
const EPSILON = 1e-7;

export interface EvaluationMetrics extends SetMetrics {
  /** Every misclassified image, most confident first. */
  mistakes: Mistake[];
  /**
   * Image indices per confusion cell, keyed `${true}-${predicted}`: every image of an off-diagonal
   * cell, the first DIAGONAL_CELL_LIMIT of a diagonal one. Empty cells have no key.
   */
  cellIndices: Record<string, number[]>;
}

/**
 * Class probabilities of every image of a set: returns a Float32Array of count * 10 values.
 * The model takes [b, 28, 28, 1] in [0, 1] and outputs [b, 10].
 */
export function predictSet(model: tf.LayersModel, set: ImageSet, batch = EVAL_BATCH): Float32Array {
  const out = new Float32Array(set.count * CLASSES);
  const xs = new Float32Array(batch * PIXELS);
  for (let start = 0; start < set.count; start += batch) predictBatch(model, set, start, Math.min(batch, set.count - start), xs, out);
  return out;
}

/**
 * predictSet batch by batch, giving the event loop a turn between batches (so main keeps answering
 * and its progress events go out) and reporting `onProgress(imagesDone, total)` after each one.
 * Same result as predictSet.
 */
export async function predictSetInSteps(
  model: tf.LayersModel,
  set: ImageSet,
  onProgress: (done: number, total: number) => void,
  batch = EVAL_BATCH,
): Promise<Float32Array> {
  const out = new Float32Array(set.count * CLASSES);
  const xs = new Float32Array(batch * PIXELS);
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    predictBatch(model, set, start, n, xs, out);
    onProgress(start + n, set.count);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out;
}

/** Writes the probabilities of images [start, start + n) into `out` (10 per image); `xs` is scratch of >= n * 784. */
function predictBatch(model: tf.LayersModel, set: ImageSet, start: number, n: number, xs: Float32Array, out: Float32Array): void {
  bytesToInputs(set.images.subarray(start * PIXELS, (start + n) * PIXELS), xs);
  const probabilities = tf.tidy(() => {
    const x = tf.tensor4d(xs.subarray(0, n * PIXELS), [n, IMAGE_SIZE, IMAGE_SIZE, 1]);
    return (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
  out.set(probabilities, start * CLASSES);
}

/** Metrics from probabilities ([count * 10]) and true labels ([count]). Pure: no tensors. */
export function metricsFromProbabilities(probabilities: Float32Array, labels: ArrayLike<number>): EvaluationMetrics {
  const count = labels.length;
  const confusion = Array.from({ length: CLASSES }, () => new Array<number>(CLASSES).fill(0));
  const mistakes: Mistake[] = [];
  const cellIndices: Record<string, number[]> = {};
  let correct = 0;
  let lossSum = 0;
  for (let i = 0; i < count; i++) {
    const row = probabilities.subarray(i * CLASSES, (i + 1) * CLASSES);
    const predicted = argmax(row);
    const label = labels[i];
    confusion[label][predicted]++;
    const cell = (cellIndices[`${label}-${predicted}`] ??= []);
    if (label !== predicted || cell.length < DIAGONAL_CELL_LIMIT) cell.push(i);
    lossSum -= Math.log(Math.max(row[label], EPSILON));
    if (predicted === label) correct++;
    else mistakes.push({ index: i, label, predicted, confidence: row[predicted] });
  }
  mistakes.sort((a, b) => b.confidence - a.confidence);
  const perClass = confusion.map((row, digit) => {
    const truePositives = row[digit];
    const predictedAs = confusion.reduce((sum, r) => sum + r[digit], 0);
    const support = row.reduce((a, b) => a + b, 0);
    return {
      digit,
      precision: predictedAs === 0 ? 0 : truePositives / predictedAs,
      recall: support === 0 ? 0 : truePositives / support,
      support,
    };
  });
  return {
    accuracy: count === 0 ? 0 : correct / count,
    loss: count === 0 ? 0 : lossSum / count,
    count,
    confusion,
    perClass,
    mistakes,
    cellIndices,
  };
}

/** The SetMetrics part of an evaluation (what the views show), without the per-image lists. */
export function setMetricsOf({ accuracy, loss, count, confusion, perClass }: SetMetrics): SetMetrics {
  return { accuracy, loss, count, confusion, perClass };
}

export function evaluateModel(model: tf.LayersModel, set: ImageSet): EvaluationMetrics {
  return metricsFromProbabilities(predictSet(model, set), set.labels);
}

export interface PictureEvaluation extends SetMetrics {
  /** Every picture read, in the folder's order. */
  readings: LabelledReading[];
  /** The misread pictures, most confident first. */
  mistakes: LabelledReading[];
  /** Files of the digit folders that could not be read, each with its error. */
  failed: { file: string; error: string }[];
}

/**
 * A model's results on a labelled picture folder, each picture named by its file: what
 * `digits test --images` prints and what the app's Evaluate view shows for "My digits".
 */
export function evaluatePictures(model: tf.LayersModel, folder: Pick<LabelledFolder, 'pictures' | 'failed'>): PictureEvaluation {
  const { pictures } = folder;
  const probabilities = predictSet(model, pictures);
  const metrics = metricsFromProbabilities(probabilities, pictures.labels);
  const readings = pictures.files.map((file, i): LabelledReading => {
    const row = probabilities.subarray(i * CLASSES, (i + 1) * CLASSES);
    const predicted = argmax(row);
    return { file, label: pictures.labels[i], predicted, confidence: row[predicted] };
  });
  return {
    ...setMetricsOf(metrics),
    readings,
    mistakes: metrics.mistakes.map((m) => readings[m.index]),
    failed: folder.failed.map(({ file, error }) => ({ file, error })),
  };
}
