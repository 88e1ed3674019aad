import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIXELS } from './dataset.ts';
import { renderHandwrittenDigit } from './handwriting.ts';
import { LabelledFolderError, describeFolder, readLabelledFolder, splitHoldout, type PictureSet } from './labelledFolder.ts';
import { preprocessImage, preprocessToPreview } from './preprocess.ts';

let root: string;
let folder: string;
let cache: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'labelled-'));
  folder = path.join(root, 'mine');
  cache = path.join(root, 'cache');
  for (const digit of [0, 7]) {
    await mkdir(path.join(folder, String(digit), 'nested'), { recursive: true });
    for (let i = 0; i < 3; i++) await writeFile(path.join(folder, String(digit), `${i}.png`), await renderHandwrittenDigit(digit, { seed: i }));
    await writeFile(path.join(folder, String(digit), 'nested', 'deep.png'), await renderHandwrittenDigit(digit, { seed: 9 }));
  }
  await mkdir(path.join(folder, '3'));
  await writeFile(path.join(folder, '3', 'broken.png'), Buffer.from('not a png at all, just text'));
  await writeFile(path.join(folder, '7', 'notes.txt'), 'written on the train');
  await writeFile(path.join(folder, 'README.md'), '# my digits');
  await mkdir(path.join(folder, 'unsorted'));
  await writeFile(path.join(folder, 'unsorted', 'x.png'), await renderHandwrittenDigit(1, { seed: 1 }));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readLabelledFolder', () => {
  it('reads DIR/<digit>/**/picture, reports bad files and ignored ones, and counts per digit', async () => {
    const read = await readLabelledFolder(folder, { cacheDir: cache });
    expect(read.perDigit).toEqual([4, 0, 0, 0, 0, 0, 0, 4, 0, 0]);
    expect(read.pictures.count).toBe(8);
    expect(read.pictures.files).toContain('7/nested/deep.png');
    expect(read.failed).toHaveLength(1);
    expect(read.failed[0].file).toBe('3/broken.png');
    expect(read.failed[0].error).toMatch(/broken\.png: not a picture this app can read/);
    expect(read.ignored.map((i) => i.file).sort()).toEqual(['7/notes.txt', 'README.md', 'unsorted']);
    expect(read.ignored.find((i) => i.file === 'unsorted')?.reason).toMatch(/not a digit folder/);
    expect(describeFolder(read)).toBe('8 pictures (0: 4, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 4, 8: 0, 9: 0); 1 could not be read, 3 other files ignored');
  });

  it('turns each picture into exactly what prediction feeds the model', async () => {
    const read = await readLabelledFolder(folder, { cacheDir: null });
    const i = read.pictures.files.indexOf('0/1.png');
    const expected = preprocessToPreview(await preprocessImage(path.join(folder, '0', '1.png')));
    expect(Array.from(read.pictures.images.subarray(i * PIXELS, (i + 1) * PIXELS))).toEqual(Array.from(expected));
    expect(read.pictures.labels[i]).toBe(0);
  });

  it('serves a second read from the cache, with the same inputs and content hash', async () => {
    const first = await readLabelledFolder(folder, { cacheDir: path.join(root, 'cache2') });
    const second = await readLabelledFolder(folder, { cacheDir: path.join(root, 'cache2') });
    expect(first.fromCache).toBe(0);
    expect(second.fromCache).toBe(8);
    expect(second.contentHash).toBe(first.contentHash);
    expect(Buffer.from(second.pictures.images).equals(Buffer.from(first.pictures.images))).toBe(true);
  });

  it('changes the content hash when a picture is relabelled', async () => {
    const copy = path.join(root, 'relabelled');
    await mkdir(path.join(copy, '0'), { recursive: true });
    await mkdir(path.join(copy, '6'), { recursive: true });
    const picture = await renderHandwrittenDigit(0, { seed: 3 });
    await writeFile(path.join(copy, '0', 'a.png'), picture);
    const before = await readLabelledFolder(copy, { cacheDir: null });
    await rm(path.join(copy, '0', 'a.png'));
    await writeFile(path.join(copy, '6', 'a.png'), picture);
    const after = await readLabelledFolder(copy, { cacheDir: null });
    expect(after.perDigit[6]).toBe(1);
    expect(after.contentHash).not.toBe(before.contentHash);
  });

  it('refuses a folder with no usable picture, saying why', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(path.join(empty, 'cats'), { recursive: true });
    await expect(readLabelledFolder(empty, { cacheDir: null })).rejects.toThrow(LabelledFolderError);
    await expect(readLabelledFolder(empty, { cacheDir: null })).rejects.toThrow(/no usable picture: it has no pictures in digit folders.*ignored: cats/);
    const bad = path.join(root, 'bad');
    await mkdir(path.join(bad, '4'), { recursive: true });
    await writeFile(path.join(bad, '4', 'x.jpg'), Buffer.alloc(0));
    await expect(readLabelledFolder(bad, { cacheDir: null })).rejects.toThrow(/none of its 1 pictures could be read \(first error: x\.jpg: the file is empty/);
    await expect(readLabelledFolder(path.join(root, 'missing'), { cacheDir: null })).rejects.toThrow(/no such folder/);
  });
});

describe('splitHoldout', () => {
  const set: PictureSet = {
    images: new Uint8Array(50 * PIXELS),
    labels: Uint8Array.from({ length: 50 }, (_, i) => i % 5),
    count: 50,
    files: Array.from({ length: 50 }, (_, i) => `${i % 5}/${i}.png`),
  };

  it('holds out the same share of every digit and never the same picture twice', () => {
    const { train, holdout } = splitHoldout(set, 0.2, 1);
    expect(holdout.count).toBe(10);
    expect(train.count).toBe(40);
    for (let d = 0; d < 5; d++) expect(holdout.labels.filter((l) => l === d).length).toBe(2);
    expect(new Set([...train.files, ...holdout.files]).size).toBe(50);
    expect(splitHoldout(set, 0.2, 1).holdout.files).toEqual(holdout.files);
    expect(splitHoldout(set, 0.2, 2).holdout.files).not.toEqual(holdout.files);
  });

  it('keeps at least one picture of a digit for training, and holds out nothing at 0', () => {
    const single: PictureSet = { images: new Uint8Array(PIXELS), labels: Uint8Array.of(3), count: 1, files: ['3/a.png'] };
    expect(splitHoldout(single, 0.5, 1).train.count).toBe(1);
    expect(splitHoldout(set, 0, 1).holdout.count).toBe(0);
    expect(() => splitHoldout(set, 1, 1)).toThrow(RangeError);
  });
});
