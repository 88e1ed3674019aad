/**
 * Building training batches from byte images in host memory (on the WASM backend far cheaper
 * than slicing one big tensor): the order an epoch visits the images, fixed by the run's seed and
 * the epoch number so a resumed run sees exactly the batches the uninterrupted one would have, and
 * the batch itself, optionally shifted by whole pixels (augmentation).
 */
import { IMAGE_SIZE, PIXELS, byteToInput, bytesToInputs, type ImageSet } from './dataset.ts';
import { seededRandom } from './random.ts';

/** The order in which an epoch visits the training images (Fisher-Yates with a seeded generator). */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const random = seededRandom(seed * 1_000_003 + epoch);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/**
 * Fills a batch from byte images: xs [n, 28, 28, 1] in [0, 1] and integer labels [n].
 * With `shift` > 0, each image moves by a random whole-pixel offset in [-shift, shift].
 */
export function fillBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  xs: Float32Array,
  labels: Int32Array,
  shift = 0,
  random: () => number = Math.random,
): void {
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * PIXELS;
    const dst = b * PIXELS;
    labels[b] = set.labels[indices[b]];
    if (shift === 0) {
      bytesToInputs(set.images.subarray(src, src + PIXELS), xs, dst);
      continue;
    }
    const dx = Math.floor(random() * (2 * shift + 1)) - shift;
    const dy = Math.floor(random() * (2 * shift + 1)) - shift;
    for (let y = 0; y < IMAGE_SIZE; y++) {
      const sy = y - dy;
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const sx = x - dx;
        xs[dst + y * IMAGE_SIZE + x] =
          sy >= 0 && sy < IMAGE_SIZE && sx >= 0 && sx < IMAGE_SIZE ? byteToInput(set.images[src + sy * IMAGE_SIZE + sx]) : 0;
      }
    }
  }
}
