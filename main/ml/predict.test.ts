import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.ts';
import { PIXELS, sliceImageSet, type MnistSplits } from './dataset.ts';
import { loadMnist } from './mnist.ts';
import { isFailure, LOW_CONFIDENCE, predictImages, predictNumbers, readPictures, type DigitPrediction, type NumberPrediction, type PictureReading } from './predict.ts';
import { encodePixels, renderMnistDigitPhoto, renderTypesetDigit } from '../../test/testImages.ts';
import { trainModel } from './trainer.ts';

let data: MnistSplits;
let model: tf.LayersModel;
let tmp: string;

beforeAll(async () => {
  await selectBackend('wasm');
  data = await loadMnist();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-predict-'));
  // A small but real model: the fast preset, one pass over 10,000 images (about 97% on MNIST).
  const result = await trainModel(
    { ...data, validation: sliceImageSet(data.validation, 0, 0) },
    { preset: 'fast', runDir: path.join(tmp, 'run'), steps: 100, limit: 10_000, validate: false },
  );
  model = result.model;
});

afterAll(async () => {
  model?.dispose();
  await rm(tmp, { recursive: true, force: true });
});

describe('predictImages', () => {
  it('reads photos of known MNIST test digits, dark ink on paper, off-centre on a large canvas', async () => {
    const count = 40;
    const files: string[] = [];
    for (let i = 0; i < count; i++) {
      const digit = data.test.images.subarray(i * PIXELS, (i + 1) * PIXELS);
      const photo = await renderMnistDigitPhoto(digit, { width: 480, height: 360, scale: 6 + (i % 5), offsetX: (i % 7) * 15 - 45, offsetY: (i % 3) * 20 - 20, seed: i, format: i % 2 ? 'jpeg' : 'png' });
      const file = path.join(tmp, `digit-${i}.${i % 2 ? 'jpg' : 'png'}`);
      await writeFile(file, photo);
      files.push(file);
    }
    const results = await predictImages(model, files);
    expect(results.every((r) => !isFailure(r))).toBe(true);
    const correct = results.filter((r, i) => (r as DigitPrediction).digit === data.test.labels[i]).length;
    expect(correct / count).toBeGreaterThanOrEqual(0.85);
    const first = results[0] as DigitPrediction;
    expect(first.probabilities).toHaveLength(10);
    expect(first.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(first.input).toHaveLength(784);
  });

  it('fails a corrupt file and a text file on their own while the good ones are predicted', async () => {
    const good = await renderMnistDigitPhoto(data.test.images.subarray(0, PIXELS), { format: 'png' });
    const results = await predictImages(model, [
      { name: 'good.png', bytes: good },
      { name: 'broken.png', bytes: good.subarray(0, 200) },
      { name: 'notes.txt', bytes: new TextEncoder().encode('not a picture at all') },
      { name: 'also-good.png', bytes: good },
    ]);
    expect(results.map((r) => r.file)).toEqual(['good.png', 'broken.png', 'notes.txt', 'also-good.png']);
    expect(isFailure(results[0])).toBe(false);
    expect(isFailure(results[3])).toBe(false);
    expect((results[0] as DigitPrediction).digit).toBe(data.test.labels[0]);
    expect(isFailure(results[1]) && results[1].error).toMatch(/broken\.png/);
    expect(isFailure(results[2]) && results[2].error).toMatch(/notes\.txt/);
  });

  it('reads a row of handwritten MNIST digits as a number', async () => {
    // Four MNIST test digits side by side, dark ink on white paper, 10 pixels apart.
    const picks = [0, 1, 2, 3];
    const width = 28 * 4 + 3 * 10 + 20;
    const height = 48;
    const paper = new Uint8Array(width * height).fill(255);
    picks.forEach((index, k) => {
      const digit = data.test.images.subarray(index * PIXELS, (index + 1) * PIXELS);
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) paper[(y + 10) * width + 10 + k * 38 + x] = 255 - digit[y * 28 + x];
    });
    const [row] = await predictNumbers(model, [{ name: 'row.png', bytes: await encodePixels(paper, width, height, 1) }]);
    expect(isFailure(row)).toBe(false);
    const expected = picks.map((i) => data.test.labels[i]).join('');
    expect((row as NumberPrediction).number).toBe(expected);
    expect((row as NumberPrediction).digits).toHaveLength(4);
  });
});

/** Test digits `picks` side by side, dark ink on white paper, 10 pixels apart, as PNG bytes. */
async function rowOfDigits(picks: number[]): Promise<Uint8Array> {
  const width = 28 * picks.length + (picks.length - 1) * 10 + 20;
  const height = 48;
  const paper = new Uint8Array(width * height).fill(255);
  picks.forEach((index, k) => {
    const digit = data.test.images.subarray(index * PIXELS, (index + 1) * PIXELS);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) paper[(y + 10) * width + 10 + k * 38 + x] = 255 - digit[y * 28 + x];
  });
  return encodePixels(paper, width, height, 1);
}

describe('readPictures (honest predictions)', () => {
  it('reads one digit without doubts about its shape, and a row as a number with each digit', async () => {
    const single = await renderMnistDigitPhoto(data.test.images.subarray(0, PIXELS), { format: 'png' });
    const [one, row] = await readPictures(model, [
      { name: 'one.png', bytes: single },
      { name: 'row.png', bytes: await rowOfDigits([0, 1, 2, 3]) },
    ]);
    const digit = one as PictureReading;
    expect(digit.digit).toBe(data.test.labels[0]);
    expect(digit.row).toEqual([]);
    expect(digit.doubts).not.toContain('several-digits');
    expect(digit.doubts).not.toContain('unlike-strokes');
    expect(digit.doubts.includes('low-confidence')).toBe(digit.confidence < LOW_CONFIDENCE);

    const number = row as PictureReading;
    expect(number.doubts).toContain('several-digits');
    expect(number.number).toBe([0, 1, 2, 3].map((i) => data.test.labels[i]).join(''));
    expect(number.row.map((d) => d.input.length)).toEqual([784, 784, 784, 784]);
    for (const d of number.row) expect(d.confidence).toBeCloseTo(Math.max(...d.probabilities), 6);
  });

  it('says filled shapes are unlike pen strokes, but not handwritten or typeset digits', async () => {
    const size = 200;
    const blob = new Uint8Array(size * size).fill(255);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) if ((x - 100) ** 2 / 70 ** 2 + (y - 100) ** 2 / 50 ** 2 <= 1) blob[y * size + x] = 30;
    }
    const digits = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        renderMnistDigitPhoto(data.test.images.subarray(i * PIXELS, (i + 1) * PIXELS), { format: 'png', seed: i, scale: 5 + (i % 4) }),
      ),
    );
    const typeset = await Promise.all([1, 4, 7, 8].map((d) => renderTypesetDigit(d)));
    const results = await readPictures(model, [
      { name: 'blob.png', bytes: await encodePixels(blob, size, size, 1) },
      ...[...digits, ...typeset].map((bytes, i) => ({ name: `digit-${i}.png`, bytes })),
    ]);
    expect((results[0] as PictureReading).doubts).toContain('unlike-strokes');
    const flagged = results.slice(1).filter((r) => (r as PictureReading).doubts.includes('unlike-strokes')).map((r) => r.file);
    expect(flagged).toEqual([]);
  });

  it('fails a file that is not a picture on its own', async () => {
    const results = await readPictures(model, [
      { name: 'notes.txt', bytes: new TextEncoder().encode('hello') },
      { name: 'row.png', bytes: await rowOfDigits([4, 5]) },
    ]);
    expect(isFailure(results[0])).toBe(true);
    expect((results[1] as PictureReading).number).toHaveLength(2);
  });
});
