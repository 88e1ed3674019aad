import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PIXELS } from './dataset.ts';
import { encodeIdx } from './idx.ts';
import { EMBEDDED_SOURCE, MnistError, defaultMnistDir, limitImageSet, loadMnist } from './mnist.ts';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

interface FolderSpec {
  trainCount?: number;
  testCount?: number;
  trainLabelCount?: number;
  imageSize?: [number, number];
  badLabelAt?: number;
  omit?: string[];
  gzip?: string[];
}

/** Image i is filled with the byte i % 256 and labelled i % 10, so slices can be recognised. */
async function makeFolder(spec: FolderSpec = {}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mnist-test-'));
  temps.push(dir);
  const [h, w] = spec.imageSize ?? [28, 28];
  const images = (n: number) => encodeIdx([n, h, w], new Uint8Array(n * h * w).map((_, j) => Math.floor(j / (h * w)) % 256));
  const labels = (n: number, badAt?: number) =>
    encodeIdx([n], new Uint8Array(n).map((_, i) => (i === badAt ? 10 + (i % 200) : i % 10)));
  const trainCount = spec.trainCount ?? 24;
  const testCount = spec.testCount ?? 6;
  const files: Record<string, Uint8Array> = {
    'train-images-idx3-ubyte': images(trainCount),
    'train-labels-idx1-ubyte': labels(spec.trainLabelCount ?? trainCount, spec.badLabelAt),
    't10k-images-idx3-ubyte': images(testCount),
    't10k-labels-idx1-ubyte': labels(testCount),
  };
  for (const [name, bytes] of Object.entries(files)) {
    if (spec.omit?.includes(name)) continue;
    const gz = spec.gzip?.includes(name);
    await writeFile(path.join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  }
  return dir;
}

describe('loadMnist on the embedded MNIST', () => {
  it('splits 55,000 / 5,000 / 10,000 with the known first labels, as views', async () => {
    const data = await loadMnist();
    expect(data.source).toBe(EMBEDDED_SOURCE);
    expect([data.train.count, data.validation.count, data.test.count]).toEqual([55000, 5000, 10000]);
    expect(data.train.images.length).toBe(55000 * PIXELS);
    expect(data.validation.images.length).toBe(5000 * PIXELS);
    expect(data.test.images.length).toBe(10000 * PIXELS);
    expect(data.train.labels[0]).toBe(5);
    expect(data.test.labels[0]).toBe(7);
    // Validation is the last 5,000 of the training file: it starts right where train ends.
    expect(data.validation.images.buffer).toBe(data.train.images.buffer);
    expect(data.validation.images.byteOffset).toBe(data.train.images.byteOffset + 55000 * PIXELS);
    for (const set of [data.train, data.validation, data.test]) {
      expect(set.labels.length).toBe(set.count);
      expect(set.labels.reduce((a, b) => Math.max(a, b))).toBe(9);
      expect(set.labels.reduce((a, b) => Math.min(a, b))).toBe(0);
    }
    // Real pixels: MNIST's first training image (a 5) has ink at full strength and a black border.
    const first = data.train.images.subarray(0, PIXELS);
    expect(Math.max(...first)).toBe(255);
    expect(first[0]).toBe(0);
  });

  it('treats the default folder given explicitly as the embedded set', async () => {
    const data = await loadMnist({ dir: defaultMnistDir(), validationSize: 10000 });
    expect(data.source).toBe(EMBEDDED_SOURCE);
    expect([data.train.count, data.validation.count]).toEqual([50000, 10000]);
  });
});

describe('loadMnist on a custom folder', () => {
  it('loads small generated files, raw and gzipped, with the proportional 1/12 split', async () => {
    const dir = await makeFolder({ gzip: ['train-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] });
    const data = await loadMnist({ dir });
    expect(data.source).toBe(dir);
    expect([data.train.count, data.validation.count, data.test.count]).toEqual([22, 2, 6]);
    // Validation holds training images 22 and 23 (pixels equal their index).
    expect(data.validation.images[0]).toBe(22);
    expect(data.validation.images[PIXELS]).toBe(23);
    expect(Array.from(data.validation.labels)).toEqual([2, 3]);
    expect(data.test.images[5 * PIXELS]).toBe(5);
    expect(Array.from(data.test.labels)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('uses the requested validation size when the training file has at least twice as many', async () => {
    const dir = await makeFolder({ trainCount: 30 });
    const data = await loadMnist({ dir, validationSize: 10 });
    expect([data.train.count, data.validation.count]).toEqual([20, 10]);
    expect(data.validation.images[0]).toBe(20);
    const none = await loadMnist({ dir, validationSize: 0 });
    expect([none.train.count, none.validation.count]).toEqual([30, 0]);
  });

  it('keeps at least one validation image in a tiny folder', async () => {
    const data = await loadMnist({ dir: await makeFolder({ trainCount: 5 }) });
    expect([data.train.count, data.validation.count]).toEqual([4, 1]);
  });

  it('lists every missing file and the folder', async () => {
    const dir = await makeFolder({ omit: ['train-labels-idx1-ubyte', 't10k-images-idx3-ubyte'] });
    const failure = loadMnist({ dir });
    await expect(failure).rejects.toBeInstanceOf(MnistError);
    await expect(failure).rejects.toThrow(
      `MNIST folder ${dir} is missing train-labels-idx1-ubyte, t10k-images-idx3-ubyte (each may also be gzipped with a .gz suffix)`,
    );
  });

  it('names a folder that does not exist', async () => {
    const dir = path.join(tmpdir(), 'no-such-mnist-folder-4f2a');
    await expect(loadMnist({ dir })).rejects.toThrow(`MNIST folder not found: ${dir}`);
  });

  it('reports mismatched image and label counts', async () => {
    const dir = await makeFolder({ trainLabelCount: 23 });
    await expect(loadMnist({ dir })).rejects.toThrow(
      `${path.join(dir, 'train-labels-idx1-ubyte')} holds 23 labels but ${path.join(dir, 'train-images-idx3-ubyte')} holds 24 images; they must match`,
    );
  });

  it('reports the first label outside 0..9', async () => {
    const dir = await makeFolder({ badLabelAt: 17 });
    await expect(loadMnist({ dir })).rejects.toThrow(
      `${path.join(dir, 'train-labels-idx1-ubyte')}: label 17 is 27; labels must be digits 0 to 9`,
    );
  });

  it('rejects images that are not 28x28', async () => {
    const dir = await makeFolder({ imageSize: [32, 32], gzip: ['train-images-idx3-ubyte'] });
    await expect(loadMnist({ dir })).rejects.toThrow(
      `${path.join(dir, 'train-images-idx3-ubyte.gz')}: expected images of 28x28 pixels (dimensions Nx28x28) but the file holds 24x32x32`,
    );
  });

  it('rejects an image file in place of a label file', async () => {
    const dir = await makeFolder();
    await writeFile(path.join(dir, 't10k-labels-idx1-ubyte'), encodeIdx([6, 28, 28], new Uint8Array(6 * PIXELS)));
    await expect(loadMnist({ dir })).rejects.toThrow(
      `${path.join(dir, 't10k-labels-idx1-ubyte')}: expected a list of labels (one dimension) but the file holds 6x28x28`,
    );
  });

  it('passes on a malformed file as an error naming it', async () => {
    const dir = await makeFolder();
    await writeFile(path.join(dir, 't10k-images-idx3-ubyte'), Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1]));
    await expect(loadMnist({ dir })).rejects.toThrow(
      `${path.join(dir, 't10k-images-idx3-ubyte')}: truncated: header says 9x28x28 images (7056 bytes) but the file holds 1 bytes after the header`,
    );
  });

  it('refuses a negative or fractional validation size', async () => {
    await expect(loadMnist({ validationSize: -1 })).rejects.toThrow(/validation size must be a whole number/);
    await expect(loadMnist({ validationSize: 2.5 })).rejects.toThrow(/validation size must be a whole number/);
  });
});

describe('limitImageSet', () => {
  it('keeps the first n images as a view', () => {
    const set = { images: new Uint8Array(3 * PIXELS).map((_, j) => Math.floor(j / PIXELS)), labels: Uint8Array.from([4, 5, 6]), count: 3 };
    const two = limitImageSet(set, 2);
    expect(two.count).toBe(2);
    expect(Array.from(two.labels)).toEqual([4, 5]);
    expect(two.images.length).toBe(2 * PIXELS);
    expect(two.images.buffer).toBe(set.images.buffer);
    expect(limitImageSet(set, 10).count).toBe(3);
    expect(limitImageSet(set, -1).count).toBe(0);
  });
});
