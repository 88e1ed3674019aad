import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findStaticFile, resolveStaticPath } from './staticFiles.ts';

let parent: string;
let root: string;

beforeAll(async () => {
  parent = await mkdtemp(path.join(os.tmpdir(), 'static-files-'));
  root = path.join(parent, 'renderer');
  await mkdir(path.join(root, 'assets', 'folder.js'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html>');
  await writeFile(path.join(root, 'assets', 'app.js'), '1');
  await writeFile(path.join(parent, 'secret.txt'), 'secret');
  await symlink(path.join(parent, 'secret.txt'), path.join(root, 'link.js'));
});

afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

describe('static files (both hosts)', () => {
  it('maps URL paths inside the folder, / to index.html, and nothing outside', () => {
    expect(resolveStaticPath(root, '/')).toBe(path.join(root, 'index.html'));
    expect(resolveStaticPath(root, '/assets/my%20app.js')).toBe(path.join(root, 'assets', 'my app.js'));
    for (const bad of ['/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%5c..%5csecret.txt', '/%00', '/%E0%A4%A']) {
      expect(resolveStaticPath(root, bad), bad).toBeNull();
    }
  });

  it('finds regular files with their type, and refuses folders and symlinks out of the folder', async () => {
    expect(await findStaticFile(root, '/assets/app.js')).toMatchObject({ size: 1, type: 'text/javascript; charset=utf-8' });
    expect(await findStaticFile(root, '/link.js')).toBeNull();
    expect(await findStaticFile(root, '/assets/folder.js')).toBeNull();
    expect(await findStaticFile(root, '/missing.js')).toBeNull();
  });
});
