import { zipSync } from 'fflate';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderHandwrittenDigit } from '../ml/handwriting.ts';
import { PICTURE_LIMITS } from '../ml/limits.ts';
import { DigitCollection, labelFromPath } from './myDigits.ts';
import { validatePayload } from './validation.ts';

let workspace: string;
let collection: DigitCollection;

beforeEach(async () => {
  workspace = await mkdtemp(path.join(os.tmpdir(), 'my-digits-'));
  collection = new DigitCollection(workspace, path.join(workspace, 'cache'));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('DigitCollection', () => {
  it('starts empty, files pictures under their digit as plain files, and lists them with what the model sees', async () => {
    expect((await collection.summary()).items).toEqual([]);
    const seven = await renderHandwrittenDigit(7, { seed: 1 });
    const added = await collection.add([
      { label: 7, name: 'drawn 7.png', bytes: seven },
      { label: 3, name: 'bad.png', bytes: new Uint8Array([1, 2, 3]) },
    ]);
    expect(added[0].file).toMatch(/^7\/drawn-7-[0-9a-f]{10}\.png$/);
    expect(added[1].error).toMatch(/bad\.png/);
    expect(await readdir(path.join(workspace, 'my-digits', '7'))).toHaveLength(1);
    const summary = await collection.summary();
    expect(summary.perDigit[7]).toBe(1);
    expect(summary.items[0]).toMatchObject({ file: added[0].file, label: 7 });
    expect(Buffer.from(summary.items[0].picture!).equals(seven)).toBe(true);
    expect(summary.items[0].input).toHaveLength(784);
    expect(Math.max(...summary.items[0].input)).toBeGreaterThan(200);
  });

  it('relabels by moving the file and removes it', async () => {
    const [{ file }] = await collection.add([{ label: 1, name: 'x.png', bytes: await renderHandwrittenDigit(7, { seed: 2 }) }]);
    const moved = await collection.relabel(file!, 7);
    expect(moved.startsWith('7/')).toBe(true);
    expect((await collection.summary()).perDigit[7]).toBe(1);
    await collection.remove(moved);
    expect((await collection.summary()).items).toEqual([]);
    await expect(collection.remove(moved)).rejects.toThrow(/not in the collection/);
    await expect(collection.remove('../../etc/passwd')).rejects.toThrow(/not a picture of the collection/);
  });

  it('imports a dropped labelled folder or a zip of one: labels from the 0..9 folders, the rest ignored', async () => {
    const four = await renderHandwrittenDigit(4, { seed: 3 });
    const zip = zipSync({ 'mine/4/a.png': four, 'mine/9/deep/b.png': await renderHandwrittenDigit(9, { seed: 3 }), 'mine/readme.txt': new Uint8Array([65]) });
    const { added, ignored } = await collection.import([
      { path: 'mine.zip', bytes: zip },
      { path: 'folder/2/c.png', bytes: await renderHandwrittenDigit(2, { seed: 3 }) },
      { path: 'folder/loose.png', bytes: four },
    ]);
    expect(added.map((a) => a.file?.split('/')[0]).sort()).toEqual(['2', '4', '9']);
    expect(ignored.sort()).toEqual(['folder/loose.png', 'mine.zip/mine/readme.txt']);
  });

  it('reads zips inside a dropped folder like a zip dropped alone, and a bad zip or file fails alone', async () => {
    const three = await renderHandwrittenDigit(3, { seed: 4 });
    const eight = await renderHandwrittenDigit(8, { seed: 4 });
    const { added, ignored } = await collection.import([
      // A zip with the labelled layout inside, somewhere in the dropped folder.
      { path: 'mine/extra/more.zip', bytes: zipSync({ '8/x.png': eight, 'notes.txt': new Uint8Array([65]) }) },
      // A zip inside a digit folder: its pictures are that digit.
      { path: 'mine/3/drawn.zip', bytes: zipSync({ 'y.png': three }) },
      { path: 'mine/5/broken.zip', bytes: new Uint8Array([80, 75, 3, 4, 0]) },
      // A picture larger than the limit, declared inside a zip: refused unread, named.
      { path: 'mine/huge.zip', bytes: zipSync({ '1/huge.png': new Uint8Array(PICTURE_LIMITS.maxFileBytes + 1) }) },
      { path: 'mine/4/torn.png', bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) },
      { path: 'mine/2/c.png', bytes: await renderHandwrittenDigit(2, { seed: 4 }) },
    ]);
    const filed = added.flatMap((a) => (a.file ? [a.file.split('/')[0]] : [])).sort();
    expect(filed).toEqual(['2', '3', '8']);
    const failed = Object.fromEntries(added.flatMap((a) => (a.error ? [[a.name, a.error]] : [])));
    expect(Object.keys(failed).sort()).toEqual(['mine/4/torn.png', 'mine/5/broken.zip', 'mine/huge.zip/1/huge.png']);
    expect(failed['mine/5/broken.zip']).toMatch(/^not a zip archive that can be read/);
    expect(failed['mine/huge.zip/1/huge.png']).toMatch(/larger than the picture size limit \(25\.0 MB\)/);
    expect(ignored).toEqual(['mine/extra/more.zip/notes.txt']);
    expect((await collection.summary()).perDigit).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 1, 0]);
  });

  it('copies what it adds: the collection is plain files of its own, and deleting the dropped folder loses nothing', async () => {
    const source = path.join(workspace, 'elsewhere', 'mine');
    await mkdir(path.join(source, '6'), { recursive: true });
    const six = await renderHandwrittenDigit(6, { seed: 5 });
    await writeFile(path.join(source, '6', 'a.png'), six);
    // What the window sends for a dropped folder: each file's path as dropped and its bytes.
    const { added } = await collection.import([{ path: 'mine/6/a.png', bytes: new Uint8Array(await readFile(path.join(source, '6', 'a.png'))) }]);
    await rm(path.join(workspace, 'elsewhere'), { recursive: true });
    const filed = path.join(workspace, 'my-digits', ...added[0].file!.split('/'));
    const info = await lstat(filed);
    expect(info.isFile() && !info.isSymbolicLink()).toBe(true);
    expect(Buffer.from(await readFile(filed)).equals(six)).toBe(true);
    expect((await collection.summary()).perDigit[6]).toBe(1);
  });

  it('takes the label from the last digit folder of a path', () => {
    expect(labelFromPath('a/3/b/7/x.png')).toBe(7);
    expect(labelFromPath('x.png')).toBeNull();
    expect(labelFromPath('10/x.png')).toBeNull();
  });
});

describe('collection payloads', () => {
  it('refuses paths that leave the collection and labels that are not digits', () => {
    expect(() => validatePayload('removeMyDigit', { file: '7/../../x.png' })).not.toThrow(); // the collection checks '..' itself
    expect(() => validatePayload('removeMyDigit', { file: '/etc/passwd' })).toThrow(/file must be a picture of the collection/);
    expect(() => validatePayload('relabelMyDigit', { file: '7/a.png', label: 10 })).toThrow(/label must be at most 9/);
    expect(() => validatePayload('startTraining', { preset: 'fast', data: 'everything' })).toThrow(/data must be mnist, mnist\+mine or mine/);
  });
});
