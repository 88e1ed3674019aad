import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEmptyOrMissing, readableFolder, writeFileAtomically, writeFolderAtomically, writeJsonAtomically } from './atomicFolder.ts';

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

describe('writeFileAtomically', () => {
  it('replaces the file whole and leaves no temp file beside it', async () => {
    const file = path.join(tmp, 'run.json');
    await writeJsonAtomically(file, { step: 1 });
    await writeFileAtomically(file, '{"step":2}');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ step: 2 });
    expect(await readdir(tmp)).toEqual(['run.json']);
  });

  it('keeps the previous contents and removes its temp file when the write fails', async () => {
    const file = path.join(tmp, 'run.json');
    await writeJsonAtomically(file, { step: 1 });
    // A folder where the file should go: the rename fails after the temp file was written.
    const blocked = path.join(tmp, 'blocked');
    await mkdir(path.join(blocked, 'inside'), { recursive: true });
    await expect(writeFileAtomically(blocked, 'x')).rejects.toThrow();
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ step: 1 });
    expect((await readdir(tmp)).sort()).toEqual(['blocked', 'run.json']);
  });
});
