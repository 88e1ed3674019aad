/** `digits serve` as a user runs it: a child process, its URL line, the page behind it, Ctrl+C. */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeStaticDir } from '../server/testServer.ts';

const BIN = path.resolve('bin/digits.mjs');
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-serve-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function digits(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function get(url: string): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    }).on('error', reject);
  });
}

describe('digits serve', () => {
  it('refuses bad options and a missing build with one-line messages', async () => {
    const port = await digits(['serve', '--port', 'http']);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--port must be a whole number from 0 to 65535, not 'http'/);
    const backend = await digits(['serve', '--backend', 'gpu'], { DIGITS_RENDERER_DIR: (await makeStaticDir()).dir });
    expect(backend.code).toBe(2);
    expect(backend.stderr).toMatch(/--backend must be native, wasm or cpu/);
    const unbuilt = await digits(['serve'], { DIGITS_RENDERER_DIR: path.join(tmp, 'nothing-here') });
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.stderr).toMatch(/nothing-here has no index\.html\): run `npm run build` first/);
    expect(unbuilt.stderr).not.toMatch(/\n\s+at /);
  });

  it('--help says what the token really does (traded for a cookie, valid until the server stops) and names the default workspace', async () => {
    const help = await digits(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).not.toMatch(/one-time/);
    expect(help.stdout).toMatch(/trades for a browser cookie/);
    expect(help.stdout).toMatch(/keeps working, in any browser, until the server stops/);
    expect(help.stdout).toMatch(/per-user folder the desktop app uses/);
  });

  it('prints the URL as the first JSON line, serves the page with it, and stops cleanly on SIGTERM', async () => {
    const { dir } = await makeStaticDir();
    const workspace = path.join(tmp, 'workspace');
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', '--workspace', workspace, '--backend', 'cpu'], {
      env: { ...process.env, DIGITS_RENDERER_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const { url } = JSON.parse(line) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
    expect(stderr).toMatch(/^Backend: cpu/m);
    expect(stderr).toContain(`Workspace (runs and the current model): ${workspace}`);
    expect(stderr).toMatch(/Export downloads the model as a \.zip and Import uploads/);

    expect(await get(url)).toEqual({ status: 303, location: '/' });
    expect((await get(new URL(url).origin + '/')).status).toBe(401);

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stderr).toMatch(/SIGTERM, shutting down/);
  });
});
