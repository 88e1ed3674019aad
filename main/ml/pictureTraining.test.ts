import { describe, expect, it } from 'vitest';
import { IMAGE_SIZE, PIXELS, type ImageSet } from './dataset.ts';
import { DEFAULT_AUGMENT, FINE_TUNE, augmentPicture, mixTrainingSet, planPictureRun } from './pictureTraining.ts';
import { seededRandom } from './random.ts';

/** A vertical bar of ink, 3 pixels wide, in the middle of the frame. */
function bar(): Uint8Array {
  const image = new Uint8Array(PIXELS);
  for (let y = 6; y < 22; y++) for (let x = 13; x < 16; x++) image[y * IMAGE_SIZE + x] = 255;
  return image;
}

function setOf(count: number, label: (i: number) => number, fill: number): ImageSet {
  return { images: new Uint8Array(count * PIXELS).fill(fill), labels: Uint8Array.from({ length: count }, (_, i) => label(i)), count };
}

const ink = (image: Uint8Array) => image.reduce((a, b) => a + b, 0) / 255;

describe('augmentPicture', () => {
  it('moves the ink a little and keeps about as much of it', () => {
    const src = bar();
    const dst = new Uint8Array(PIXELS);
    const random = seededRandom(3);
    for (let i = 0; i < 20; i++) {
      augmentPicture(src, dst, DEFAULT_AUGMENT, random);
      expect(Buffer.from(dst).equals(Buffer.from(src))).toBe(false);
      expect(ink(dst)).toBeGreaterThan(ink(src) * 0.5);
      expect(ink(dst)).toBeLessThan(ink(src) * 1.8);
    }
  });

  it('changes nothing with all changes at zero', () => {
    const src = bar();
    const dst = new Uint8Array(PIXELS);
    augmentPicture(src, dst, { shift: 0, rotation: 0, scale: 0, strokeChange: 0 }, seededRandom(1));
    expect(Array.from(dst)).toEqual(Array.from(src));
  });
});

describe('mixTrainingSet', () => {
  const pictures = setOf(4, (i) => i, 200);
  const mnist = setOf(100, (i) => 9 - (i % 3), 7);

  it('puts every picture in `copies` times, then a replay sample of MNIST without repeats', () => {
    const set = mixTrainingSet({ pictures, mnist, copies: 3, replay: 10, augment: null, seed: 1 });
    expect(set.count).toBe(22);
    expect(Array.from(set.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    expect(set.images[11 * PIXELS]).toBe(200);
    expect(set.images[12 * PIXELS]).toBe(7);
    for (const label of set.labels.subarray(12)) expect([7, 8, 9]).toContain(label);
  });

  it('uses the pictures alone without MNIST, and all of MNIST when asked for more', () => {
    expect(mixTrainingSet({ pictures, mnist: null, copies: 2, replay: 50, augment: null, seed: 1 }).count).toBe(8);
    expect(mixTrainingSet({ pictures, mnist, copies: 1, replay: 1000, augment: null, seed: 1 }).count).toBe(104);
  });
});

describe('planPictureRun', () => {
  const pictures = setOf(100, (i) => i % 10, 100);
  const mnist = setOf(55_000, () => 1, 3);

  it('fine-tunes on equal parts pictures and MNIST with the measured schedule', () => {
    const plan = planPictureRun({ pictures, mnist, fineTune: true, seed: 1 });
    expect(plan.copies).toBe(FINE_TUNE.copies);
    expect(plan.replay).toBe(100 * FINE_TUNE.copies);
    expect(plan.train.count).toBe(2 * 100 * FINE_TUNE.copies);
    expect(plan.defaults).toEqual({ batchSize: FINE_TUNE.batchSize, learningRate: FINE_TUNE.learningRate, epochs: FINE_TUNE.epochs });
  });

  it('from scratch, adds the pictures to all of MNIST as about a tenth of each epoch', () => {
    const plan = planPictureRun({ pictures, mnist, fineTune: false, seed: 1 });
    expect(plan.replay).toBe(55_000);
    const share = (plan.copies * 100) / plan.train.count;
    expect(share).toBeGreaterThan(0.09);
    expect(share).toBeLessThan(0.11);
    expect(plan.defaults).toEqual({});
  });
});
