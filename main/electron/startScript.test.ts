import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// bin/start.mjs (`npm start`) must explain a missing Electron runtime instead of crashing.
const script = path.resolve(import.meta.dirname, '../../bin/start.mjs');
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'start-script-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function fakeElectron(dir: string, body: string): Promise<void> {
  await writeFile(path.join(dir, 'electron'), `#!/bin/sh\n${body}\n`);
  await chmod(path.join(dir, 'electron'), 0o755);
}

function start(distDir: string) {
  return spawnSync(process.execPath, [script, '--check'], {
    encoding: 'utf8',
    env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: distDir },
  });
}

describe.runIf(process.platform === 'linux')('npm start (bin/start.mjs)', () => {
  it('says plainly that the runtime is missing and points to digits serve, without a stack trace', () => {
    const result = start(path.join(tmp, 'nothing-here'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/needs Electron's runtime, which is not available here/);
    expect(result.stderr).toMatch(/Electron's binary is missing/);
    expect(result.stderr).toMatch(/npx digits serve/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('reports a binary that does not run (e.g. missing system libraries)', async () => {
    const dir = await mkdtemp(path.join(tmp, 'broken-'));
    await fakeElectron(dir, 'echo "electron: error while loading shared libraries: libnss3.so" >&2; exit 127');
    const result = start(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/does not run here \(electron: error while loading shared libraries: libnss3\.so\)/);
    expect(result.stderr).toMatch(/npx digits serve/);
  });

  it('passes the check when the runtime runs', async () => {
    const dir = await mkdtemp(path.join(tmp, 'working-'));
    await fakeElectron(dir, 'echo v45.5.0');
    const result = start(dir);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Electron v45\.5\.0: /);
  });
});
