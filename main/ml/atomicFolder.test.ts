import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEmptyOrMissing, readableFolder, writeFolderAtomically } from './atomicFolder.ts';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-atomic-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('writeFolderAtomically', () => {
  it('replaces the whole folder: old files are gone, new ones are complete', async () => {
    const dir = path.join(tmp, 'model');
    await writeFolderAtomically(dir, { 'a.txt': 'old', 'stale.bin': new Uint8Array([1, 2]) });
    await writeFolderAtomically(dir, { 'a.txt': 'new', 'b.bin': new Uint8Array([9]) });
    expect((await readdir(dir)).sort()).toEqual(['a.txt', 'b.bin']);
    expect(await readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('new');
    expect(await readdir(tmp)).toEqual(['model']);
  });

  it('leaves the previous folder untouched and no temp folder behind when a write fails midway', async () => {
    const dir = path.join(tmp, 'model');
    await writeFolderAtomically(dir, { 'model.json': '{"good":true}' });
    // The second file cannot be written (its subfolder does not exist): the write fails after the first.
    await expect(writeFolderAtomically(dir, { 'model.json': '{"half":true}', 'missing/weights.bin': 'x' })).rejects.toThrow();
    expect(await readFile(path.join(dir, 'model.json'), 'utf8')).toBe('{"good":true}');
    expect(await readdir(tmp)).toEqual(['model']);
  });
});

describe('readableFolder', () => {
  it('falls back to <dir>.old after a crash between the two renames', async () => {
    const dir = path.join(tmp, 'checkpoint');
    await mkdir(`${dir}.old`);
    expect(await readableFolder(dir)).toBe(`${dir}.old`);
    await mkdir(dir);
    expect(await readableFolder(dir)).toBe(dir);
    expect(await readableFolder(path.join(tmp, 'none'))).toBeNull();
  });
});

describe('isEmptyOrMissing', () => {
  it('is true for a missing or empty folder and false once it holds a file', async () => {
    expect(await isEmptyOrMissing(path.join(tmp, 'nope'))).toBe(true);
    expect(await isEmptyOrMissing(tmp)).toBe(true);
    await writeFile(path.join(tmp, 'x'), '');
    expect(await isEmptyOrMissing(tmp)).toBe(false);
  });
});
