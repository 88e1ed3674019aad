import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { makeStaticDir } from '../server/testServer.ts';
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
  it('--check says plainly that the runtime is missing and names the browser version, without a stack trace', () => {
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

  /** `npm start` without a usable Electron: runs until its first stdout line (the URL), then stops it. */
  async function startBrowserVersion(env: Record<string, string>) {
    const { dir } = await makeStaticDir();
    const child = spawn(process.execPath, [script, '--port', '0', '--backend', 'cpu', '--workspace', path.join(tmp, 'ws')], {
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: path.join(tmp, 'nothing-here'), DIGITS_RENDERER_DIR: dir, DISPLAY: '', WAYLAND_DISPLAY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const lines = createInterface({ input: child.stdout });
    const url = await new Promise<string>((resolve) => lines.on('line', (line) => line.includes('token=') && resolve(line.trim())));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the opener's line follows the URL
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    return { url, stderr };
  }

  it('runs the browser version instead, says why in one line, and prints the URL where there is no display', async () => {
    const { url, stderr } = await startBrowserVersion({});
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
    expect(stderr).toMatch(/^Starting the browser version: Electron's runtime is not available here \(Electron's binary is missing/);
    expect(stderr).toMatch(/Not opening a browser: no display here/);
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it("opens the default browser (xdg-open) with the URL where there is a display", async () => {
    const bin = await mkdtemp(path.join(tmp, 'bin-'));
    const log = path.join(bin, 'opened.txt');
    await writeFile(path.join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" > "${log}"\n`);
    await chmod(path.join(bin, 'xdg-open'), 0o755);
    const { url, stderr } = await startBrowserVersion({ DISPLAY: ':99', PATH: `${bin}:${process.env.PATH ?? ''}` });
    expect(stderr).toMatch(/Opened it in your default browser \(xdg-open\)/);
    expect((await readFile(log, 'utf8')).trim()).toBe(url);
  });
});
