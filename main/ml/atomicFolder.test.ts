import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isEmptyOrMissing,
  nodeFolderFs,
  readableFolder,
  writeFileAtomically,
  writeFolderAtomically,
  writeJsonAtomically,
  type FolderFs,
} from './atomicFolder.ts';
import { crashingFs } from './crashingFs.ts';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-atomic-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const anything = () => true;

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('writeFolderAtomically', () => {
  it('replaces the whole folder: old files are gone, new ones are complete', async () => {
    const dir = path.join(tmp, 'model');
    await writeFolderAtomically(dir, { 'a.txt': 'old', 'stale.bin': new Uint8Array([1, 2]) });
    await writeFolderAtomically(dir, { 'a.txt': 'new', 'b.bin': new Uint8Array([9]) }, { replaceable: anything });
    expect((await readdir(dir)).sort()).toEqual(['a.txt', 'b.bin']);
    expect(await readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('new');
    expect(await readdir(tmp)).toEqual(['model']);
  });

  it('leaves the previous folder untouched and no temp folder behind when a write fails midway', async () => {
    const dir = path.join(tmp, 'model');
    await writeFolderAtomically(dir, { 'model.json': '{"good":true}' });
    // The second file cannot be written (its subfolder does not exist): the write fails after the first.
    await expect(
      writeFolderAtomically(dir, { 'model.json': '{"half":true}', 'missing/weights.bin': 'x' }, { replaceable: anything }),
    ).rejects.toThrow(/previous folder is unchanged/);
    expect(await readFile(path.join(dir, 'model.json'), 'utf8')).toBe('{"good":true}');
    expect(await readdir(tmp)).toEqual(['model']);
  });

  it('never touches a folder nobody named: a user\'s X.old survives writing and replacing X', async () => {
    const dir = path.join(tmp, 'X');
    await mkdir(`${dir}.old`);
    await writeFile(path.join(`${dir}.old`, 'thesis.txt'), 'precious');
    await writeFolderAtomically(dir, { 'model.json': '1' });
    await writeFolderAtomically(dir, { 'model.json': '2' }, { replaceable: anything });
    expect(await readFile(path.join(`${dir}.old`, 'thesis.txt'), 'utf8')).toBe('precious');
    expect((await readdir(tmp)).sort()).toEqual(['X', 'X.old']);
  });

  it('refuses to replace a file, a symbolic link, or a folder it does not recognise, and changes nothing', async () => {
    const file = path.join(tmp, 'notes.txt');
    await writeFile(file, 'keep me');
    await expect(writeFolderAtomically(file, { 'model.json': '{}' }, { replaceable: anything, what: 'model folder' })).rejects.toThrow(
      `${file} is a file, not a model folder; it is never replaced. Nothing was changed.`,
    );
    expect(await readFile(file, 'utf8')).toBe('keep me');

    const link = path.join(tmp, 'link');
    await symlink(tmp, link);
    await expect(writeFolderAtomically(link, { 'model.json': '{}' }, { replaceable: anything })).rejects.toThrow(/is a symbolic link/);

    const photos = path.join(tmp, 'photos');
    await mkdir(photos);
    await writeFile(path.join(photos, 'cat.jpg'), 'meow');
    await expect(writeFolderAtomically(photos, { 'model.json': '{}' }, { replaceable: (names) => names.includes('model.json') })).rejects.toThrow(
      /photos holds other files \(cat\.jpg\); only an empty folder or a previous folder is replaced/,
    );
    expect(await readdir(photos)).toEqual(['cat.jpg']);
    expect((await readdir(tmp)).sort()).toEqual(['link', 'notes.txt', 'photos']);
  });

  it('removes temp folders of writers that are gone, keeps those of live ones', async () => {
    const dir = path.join(tmp, 'model');
    const legacy = `${dir}.tmp-0a1b2c3d`; // an earlier version's name, no pid
    const dead = `${dir}.tmp-${deadPid()}-deadbeef`;
    const live = `${dir}.tmp-${process.ppid}-0badf00d`;
    for (const folder of [legacy, dead, live]) await mkdir(folder);
    await writeFolderAtomically(dir, { 'model.json': '{}' });
    expect((await readdir(tmp)).sort()).toEqual(['model', path.basename(live)]);
  });

  it('names the folder and what is still safe when the disk is full', async () => {
    const dir = path.join(tmp, 'model');
    await writeFolderAtomically(dir, { 'model.json': 'v1' });
    const full: FolderFs = {
      ...nodeFolderFs,
      writeFileSynced: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    await expect(writeFolderAtomically(dir, { 'model.json': 'v2' }, { replaceable: anything, what: 'model folder', fs: full })).rejects.toThrow(
      `Could not write ${dir} (no space left on the disk); the previous model folder is unchanged`,
    );
    expect(await readFile(path.join(dir, 'model.json'), 'utf8')).toBe('v1');
    expect(await readdir(tmp)).toEqual(['model']);
  });
});

describe('readableFolder', () => {
  it('after a crash between the renames, reads the complete new copy, and a later write cleans up', async () => {
    const dir = path.join(tmp, 'model');
    await writeFolderAtomically(dir, { 'model.json': 'v1' });
    // Steps of a replacing write: write the file, rename the old folder aside, rename the new one in, remove the old.
    const fsx = crashingFs(2);
    await expect(writeFolderAtomically(dir, { 'model.json': 'v2' }, { replaceable: anything, fs: fsx })).rejects.toThrow();
    expect(fsx.steps.map((s) => s.split(' ')[0])).toEqual(['write', 'rename']);
    expect(await readdir(tmp)).not.toContain('model');
    const readable = await readableFolder(dir);
    expect(readable).toMatch(/model\.tmp-\d+-[0-9a-f]{8}$/);
    expect(await readFile(path.join(readable!, 'model.json'), 'utf8')).toBe('v2');

    await writeFolderAtomically(dir, { 'model.json': 'v3' }, { replaceable: anything });
    expect(await readdir(tmp)).toEqual(['model']);
    expect(await readableFolder(dir)).toBe(dir);
  });

  it('falls back to the previous copy when the new one is gone, and is null when nothing was ever written', async () => {
    const dir = path.join(tmp, 'model');
    await mkdir(`${dir}.prev-123-0badf00d`);
    expect(await readableFolder(dir)).toBe(`${dir}.prev-123-0badf00d`);
    await mkdir(`${dir}.old`);
    expect(await readableFolder(path.join(tmp, 'none'))).toBeNull();
    await mkdir(dir);
    expect(await readableFolder(dir)).toBe(dir);
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
