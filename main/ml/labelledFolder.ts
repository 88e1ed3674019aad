/**
 * Labelled picture folders: `DIR/<digit>/**\/<picture>`, the layout of Keras'
 * `image_dataset_from_directory` and of most image datasets. Every picture goes through the same
 * preprocessing as prediction (`preprocessImage`, MNIST mode) and the resulting 28x28 input is
 * cached on disk under the picture's content hash and the preprocessing version, so a second run
 * decodes nothing. A picture that cannot be read fails alone and is reported with its error;
 * anything outside the digit folders is listed as ignored, with the reason.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { CLASSES, PIXELS, type ImageSet } from './dataset.ts';
import { PICTURE_FOLDER_LIMITS, PICTURE_LIMITS, describeMegabytes } from './limits.ts';
import { heldOutOfDigit } from './heldOut.ts';
import { PREPROCESSING_VERSION, preprocessImage, preprocessToPreview } from './preprocess.ts';
import { seededRandom } from './random.ts';

/** Extensions read as pictures; anything else in a digit folder is listed as ignored. */
export const PICTURE_EXTENSIONS = new Set([
  '.png', '.jpg', '.jpeg', '.jpe', '.jfif', '.webp', '.gif', '.tif', '.tiff', '.svg', '.avif', '.bmp', '.heic', '.heif',
]);
const MAX_PICTURES = PICTURE_FOLDER_LIMITS.maxPictures;
/** Pictures decoded at once (sharp has its own thread pool; this bounds memory). */
const DECODE_CONCURRENCY = 4;
const DIGIT_FOLDER = /^[0-9]$/;

export class LabelledFolderError extends Error {
  override name = 'LabelledFolderError';
}

export interface LabelledFile {
  /** Path relative to the labelled folder, with `/` separators, e.g. `7/anna/003.png`. */
  file: string;
  label: number;
}

export interface IgnoredFile {
  file: string;
  reason: string;
}

export interface FailedFile {
  file: string;
  error: string;
  code?: string;
}

/** Labelled pictures as model inputs, with the file each came from. */
export interface PictureSet extends ImageSet {
  /** files[i] is the relative path of picture i (see LabelledFile.file). */
  files: string[];
}

export interface LabelledFolder {
  /** Absolute path of the folder read. */
  dir: string;
  pictures: PictureSet;
  /** Pictures read per digit, digit 0 first. */
  perDigit: number[];
  failed: FailedFile[];
  ignored: IgnoredFile[];
  /** How many pictures came from the cache instead of being decoded. */
  fromCache: number;
  /** sha256 over the (file, label, picture content) of every picture read: names this data. */
  contentHash: string;
}

export interface ReadLabelledFolderOptions {
  /** Folder for cached model inputs; null turns the cache off. */
  cacheDir: string | null;
  /** Called after each picture with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

const toPosix = (relative: string) => relative.split(path.sep).join('/');

/** Lists the pictures of a labelled folder (nothing is decoded). Throws LabelledFolderError. */
export async function listLabelledFolder(dir: string): Promise<{ files: LabelledFile[]; ignored: IgnoredFile[] }> {
  const root = path.resolve(dir);
  const stat = await fs.stat(root).catch(() => null);
  if (!stat) throw new LabelledFolderError(`${dir}: no such folder`);
  if (!stat.isDirectory()) throw new LabelledFolderError(`${dir} is a file; expected a folder with one subfolder per digit (0 to 9)`);
  const files: LabelledFile[] = [];
  const ignored: IgnoredFile[] = [];

  const walk = async (folder: string, label: number): Promise<void> => {
    const entries = (await fs.readdir(folder, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      const file = toPosix(path.relative(root, full));
      let kind: 'file' | 'folder' | 'other' = entry.isDirectory() ? 'folder' : entry.isFile() ? 'file' : 'other';
      if (entry.isSymbolicLink()) {
        const target = await fs.stat(full).catch(() => null);
        if (target?.isDirectory()) {
          ignored.push({ file, reason: 'a link to a folder (not followed, so a loop cannot trap the reader)' });
          continue;
        }
        kind = target?.isFile() ? 'file' : 'other';
      }
      if (entry.name.startsWith('.')) ignored.push({ file, reason: 'hidden' });
      else if (kind === 'folder') await walk(full, label);
      else if (kind !== 'file') ignored.push({ file, reason: 'not a regular file' });
      else if (!PICTURE_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) {
        ignored.push({ file, reason: `not a picture (extension ${path.extname(entry.name) || 'missing'})` });
      } else {
        files.push({ file, label });
        if (files.length > MAX_PICTURES) throw new LabelledFolderError(`${dir} holds more than ${MAX_PICTURES} pictures; use a smaller folder`);
      }
    }
  };

  const top = (await fs.readdir(root, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of top) {
    const full = path.join(root, entry.name);
    const isFolder = entry.isDirectory() || (entry.isSymbolicLink() && (await fs.stat(full).catch(() => null))?.isDirectory());
    if (isFolder && DIGIT_FOLDER.test(entry.name)) await walk(full, Number(entry.name));
    else ignored.push({ file: entry.name, reason: isFolder ? 'not a digit folder (0 to 9)' : 'outside the digit folders' });
  }
  return { files, ignored };
}

/** The cache key of a picture: its content and everything that turns it into a model input. */
function cacheKey(bytes: Uint8Array): string {
  return createHash('sha256').update(`${PREPROCESSING_VERSION}\0${sharp.versions.vips}\0`).update(bytes).digest('hex');
}

async function readCached(cacheDir: string | null, key: string): Promise<Uint8Array | null> {
  if (!cacheDir) return null;
  const data = await fs.readFile(path.join(cacheDir, key.slice(0, 2), `${key}.bin`)).catch(() => null);
  return data && data.length === PIXELS ? new Uint8Array(data) : null;
}

async function writeCached(cacheDir: string | null, key: string, input: Uint8Array): Promise<void> {
  if (!cacheDir) return;
  const folder = path.join(cacheDir, key.slice(0, 2));
  const target = path.join(folder, `${key}.bin`);
  const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await fs.mkdir(folder, { recursive: true });
    await fs.writeFile(temporary, input);
    await fs.rename(temporary, target);
  } catch {
    // A cache that cannot be written only costs time on the next run.
    await fs.rm(temporary, { force: true }).catch(() => {});
  }
}

/** Reads one picture as a model input (784 bytes, ink = 255), from the cache when it is there. */
export async function pictureInput(
  bytes: Uint8Array,
  fileName: string,
  cacheDir: string | null,
): Promise<{ input: Uint8Array; cached: boolean; hash: string }> {
  const key = cacheKey(bytes);
  const hit = await readCached(cacheDir, key);
  if (hit) return { input: hit, cached: true, hash: key };
  const input = preprocessToPreview(await preprocessImage(bytes, { fileName }));
  await writeCached(cacheDir, key, input);
  return { input, cached: false, hash: key };
}

/**
 * Reads every picture of a labelled folder as a model input. Throws LabelledFolderError when the
 * folder is missing or no picture in it can be used (the message lists why).
 */
export async function readLabelledFolder(dir: string, options: ReadLabelledFolderOptions): Promise<LabelledFolder> {
  const root = path.resolve(dir);
  const { files, ignored } = await listLabelledFolder(root);
  const results: ({ input: Uint8Array; cached: boolean; hash: string } | FailedFile)[] = new Array(files.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      const { file } = files[i];
      try {
        const full = path.join(root, file);
        const { size } = await fs.stat(full);
        if (size > PICTURE_LIMITS.maxFileBytes) {
          throw new Error(`${path.basename(file)}: the file is ${describeMegabytes(size)}, larger than the ${describeMegabytes(PICTURE_LIMITS.maxFileBytes)} limit`);
        }
        if (size === 0) throw new Error(`${path.basename(file)}: the file is empty (0 bytes)`);
        const bytes = await fs.readFile(full);
        results[i] = await pictureInput(bytes, path.basename(file), options.cacheDir);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        results[i] = { file, error: (error as Error).message, code: typeof code === 'string' ? code : undefined };
      }
      options.onProgress?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, files.length) }, worker));

  const good = files.flatMap((f, i) => ('input' in results[i] ? [{ ...f, ...(results[i] as { input: Uint8Array; cached: boolean; hash: string }) }] : []));
  const failed = results.filter((r): r is FailedFile => 'error' in r);
  if (good.length === 0) {
    const why =
      files.length === 0
        ? `it has no pictures in digit folders (expected ${path.join(dir, '7', 'example.png')} and the like${ignored.length ? `; ignored: ${ignored.slice(0, 3).map((i) => i.file).join(', ')}` : ''})`
        : `none of its ${files.length} pictures could be read (first error: ${failed[0].error})`;
    throw new LabelledFolderError(`${dir}: no usable picture: ${why}`);
  }
  const pictures: PictureSet = {
    images: new Uint8Array(good.length * PIXELS),
    labels: new Uint8Array(good.length),
    count: good.length,
    files: good.map((g) => g.file),
  };
  const perDigit = new Array<number>(CLASSES).fill(0);
  const hash = createHash('sha256');
  good.forEach((g, i) => {
    pictures.images.set(g.input, i * PIXELS);
    pictures.labels[i] = g.label;
    perDigit[g.label]++;
    hash.update(`${g.file}\0${g.label}\0${g.hash}\n`);
  });
  return {
    dir: root,
    pictures,
    perDigit,
    failed,
    ignored,
    fromCache: good.filter((g) => g.cached).length,
    contentHash: hash.digest('hex'),
  };
}

/** "98 pictures (0: 10, 1: 10, ...), 2 failed, 3 ignored" */
export function describeFolder(folder: Pick<LabelledFolder, 'perDigit' | 'failed' | 'ignored' | 'pictures'>): string {
  const counts = folder.perDigit.map((n, d) => `${d}: ${n}`).join(', ');
  const extra = [
    folder.failed.length ? `${folder.failed.length} could not be read` : '',
    folder.ignored.length ? `${folder.ignored.length} other files ignored` : '',
  ].filter(Boolean);
  return `${folder.pictures.count} pictures (${counts})${extra.length ? `; ${extra.join(', ')}` : ''}`;
}

/** The pictures at `indices`, in that order (a copy). */
export function selectPictures(set: PictureSet, indices: ArrayLike<number>): PictureSet {
  const out: PictureSet = {
    images: new Uint8Array(indices.length * PIXELS),
    labels: new Uint8Array(indices.length),
    count: indices.length,
    files: [],
  };
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    out.images.set(set.images.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    out.labels[i] = set.labels[j];
    out.files.push(set.files[j]);
  }
  return out;
}

/**
 * A stratified split: of each digit's n pictures, round(n * fraction) are held out (never
 * trained on), chosen by a seeded shuffle, but at least one stays for training. A fraction of 0
 * holds nothing out.
 */
export function splitHoldout(set: PictureSet, fraction: number, seed: number): { train: PictureSet; holdout: PictureSet } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`the held-out fraction must be in [0, 1), not ${fraction}`);
  const random = seededRandom(seed);
  const train: number[] = [];
  const holdout: number[] = [];
  for (let digit = 0; digit < CLASSES; digit++) {
    const indices: number[] = [];
    for (let i = 0; i < set.count; i++) if (set.labels[i] === digit) indices.push(i);
    for (let i = indices.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [indices[i], indices[j]] = [indices[j], indices[i]];
    }
    const held = heldOutOfDigit(indices.length, fraction);
    holdout.push(...indices.slice(0, held));
    train.push(...indices.slice(held));
  }
  const byOrder = (a: number, b: number) => a - b;
  return { train: selectPictures(set, train.sort(byOrder)), holdout: selectPictures(set, holdout.sort(byOrder)) };
}
