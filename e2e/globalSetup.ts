/**
 * Starts one `digits serve` for the whole run (a child process, like a user would), and trains a
 * small model with `digits train` that specs import when they need a model to exist. Hands the
 * URL and paths to the specs through environment variables; the returned function stops it all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, electronUnavailable } from './electron.ts';

const DIGITS = path.join(ROOT, 'bin', 'digits.mjs');
const ARTIFACTS = path.join(ROOT, 'e2e-artifacts');
const START_TIMEOUT_MS = 90_000;

/** Resolves with the first stdout line of a child, or rejects if it exits or times out first. */
function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no output after ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with code ${code} before printing anything; see e2e-artifacts/`));
    });
  });
}

function run(args: string[], log: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DIGITS, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = createWriteStream(path.join(ARTIFACTS, log));
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`digits ${args[0]} failed (exit ${code}); see e2e-artifacts/${log}`))));
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (!existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'))) {
    throw new Error('out/renderer/index.html is missing: run `npm run build` before the e2e tests');
  }
  await mkdir(ARTIFACTS, { recursive: true });
  const noElectron = electronUnavailable();
  if (noElectron) console.log(`e2e: the 'electron' project's specs will be skipped. ${noElectron}`);
  const root = await mkdtemp(path.join(tmpdir(), 'digits-e2e-'));
  const workspace = path.join(root, 'workspace');
  const fixtureRun = path.join(root, 'fixture-run');
  await mkdir(workspace);

  const started = performance.now();
  // A small model for specs that need one (about 93% test accuracy); trained while the server starts.
  const training = run(
    ['train', '--preset', 'fast', '--limit', '12000', '--epochs', '1', '--run', fixtureRun, '--json'],
    'fixture-train.log',
  );

  const server = spawn(process.execPath, [DIGITS, 'serve', '--port', '0', '--json', '--workspace', workspace], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stderr.pipe(createWriteStream(path.join(ARTIFACTS, 'serve.log')));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  let url: string;
  try {
    const line = await firstLine(server, 'digits serve');
    url = (JSON.parse(line) as { url: string }).url;
    await training;
  } catch (error) {
    server.kill('SIGTERM');
    throw error;
  }
  console.log(`e2e: digits serve at ${new URL(url).origin} (workspace ${workspace}), ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  process.env.DIGITS_E2E_URL = url;
  process.env.DIGITS_E2E_ROOT = root;
  process.env.DIGITS_E2E_WORKSPACE = workspace;
  process.env.DIGITS_E2E_MODEL = path.join(fixtureRun, 'model');

  return async () => {
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await rm(root, { recursive: true, force: true });
  };
}
