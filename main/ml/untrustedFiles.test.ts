import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRegularFile, resolveInside, sha256Hex, UntrustedFileError } from './untrustedFiles.ts';

let tmp: string;
let root: string;

beforeAll(async () => {
  tmp = await realpath(await mkdtemp(path.join(os.tmpdir(), 'digits-untrusted-')));
  root = path.join(tmp, 'folder');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await writeFile(path.join(tmp, 'secret.txt'), 'outside the folder');
  await writeFile(path.join(root, 'ok.bin'), 'hello');
  await symlink(path.join(root, 'ok.bin'), path.join(root, 'sub', 'link-inside.bin'));
  await symlink('/dev/zero', path.join(root, 'zero.bin'));
  await symlink(path.join(tmp, 'secret.txt'), path.join(root, 'secret-link.bin'));
  execFileSync('mkfifo', [path.join(root, 'pipe.bin')]);
  await writeFile(path.join(root, 'sparse.bin'), '');
  await truncate(path.join(root, 'sparse.bin'), 2 * 1024 ** 3); // 2 GB, no blocks used
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<UntrustedFileError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UntrustedFileError);
  return error as UntrustedFileError;
}

describe('files from an untrusted folder', () => {
  it('reads a regular file inside the folder, also through a link that stays inside', async () => {
    const file = await resolveInside(root, 'sub/link-inside.bin', 'link');
    expect((await readRegularFile(file, 100, 'link')).toString()).toBe('hello');
  });

  it('refuses paths that climb out, absolute paths and links leading outside, without naming a size', async () => {
    for (const p of ['../secret.txt', 'sub/../../secret.txt', path.join(tmp, 'secret.txt'), 'secret-link.bin', 'zero.bin']) {
      const error = await refusal(resolveInside(root, p, `file ${p}`));
      expect(error.reason).toBe('outside');
      expect(error.message).toContain(`file ${p}`);
      expect(error.message).not.toMatch(/\d+ bytes|18/); // secret.txt is 18 bytes long
    }
  });

  it('refuses a named pipe without opening it (the test would hang otherwise)', async () => {
    const error = await refusal(readRegularFile(await resolveInside(root, 'pipe.bin', 'pipe.bin'), 100, 'pipe.bin'));
    expect(error.message).toBe('pipe.bin is a named pipe, not a regular file; refused');
  });

  it('refuses a device and a folder', async () => {
    expect((await refusal(readRegularFile('/dev/zero', 100, '/dev/zero'))).message).toMatch(/is a device/);
    expect((await refusal(readRegularFile(root, 100, 'folder'))).message).toMatch(/is a folder/);
  });

  it('refuses a file over the cap by its size, before reading it (a sparse 2 GB file)', async () => {
    const error = await refusal(readRegularFile(path.join(root, 'sparse.bin'), 200 * 1024 * 1024, 'sparse.bin'));
    expect(error.reason).toBe('too-large');
    expect(error.message).toBe('sparse.bin is 2048 MB, more than the 200 MB allowed; refused');
  });

  it('says a missing file is missing', async () => {
    expect((await refusal(resolveInside(root, 'absent.bin', 'absent.bin'))).reason).toBe('missing');
  });

  it('computes SHA-256', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
