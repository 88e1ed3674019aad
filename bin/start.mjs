#!/usr/bin/env node
// `npm start`: builds and opens the desktop app (electron-vite preview), but first checks that
// Electron's runtime is really there and runs. Where it is missing (its binary is a separate
// download that can fail or be skipped), it runs the same app in the browser instead: builds the
// web page if out/ is missing or older than the sources, starts `digits serve --open` (which opens
// the default browser where there is a display, else prints the URL), and says in one line why.
// `node bin/start.mjs --check` only runs the check (exit 1 when Electron cannot run).
// DIGITS_RENDERER_DIR (a built page elsewhere, as in the tests) skips the build.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import path from 'node:path';
import { findElectronRuntime } from './electronRuntime.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** What the built web page is made from: a newer file here means out/ is stale. */
const PAGE_SOURCES = ['renderer', 'package.json', 'electron.vite.config.ts'];

/** Newest modification time (ms) of the files under `target` (node_modules and dot folders skipped). */
function newestMtime(target) {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(target, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry.name)));
  }
  return newest;
}

/** Why the web page must be (re)built, or null when out/renderer is up to date. */
function buildNeeded() {
  const page = path.join(root, 'out', 'renderer', 'index.html');
  if (!existsSync(page)) return 'the app is not built yet';
  const builtAt = statSync(page).mtimeMs;
  const newest = Math.max(...PAGE_SOURCES.map((name) => newestMtime(path.join(root, name))));
  return newest > builtAt ? 'its sources changed since the last build' : null;
}

/** The browser version: build when needed, then `digits serve --open` in this terminal. */
function startBrowserVersion(problem) {
  console.error(`Starting the browser version: Electron's runtime is not available here (${problem}).`);
  const reason = process.env.DIGITS_RENDERER_DIR ? null : buildNeeded();
  if (reason) {
    console.error(`Building the app first (${reason})…`);
    const build = spawnSync(process.execPath, [electronViteBin(), 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (build.status !== 0) {
      console.error('The build failed (see above); fix it and run npm start again.');
      process.exit(1);
    }
  }
  const serve = spawn(process.execPath, [path.join(root, 'bin', 'digits.mjs'), 'serve', '--open', ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl+C reaches both (same process group): wait for the server to shut down. A kill of this
  // script alone is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => serve.kill('SIGTERM'));
  serve.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function electronViteBin() {
  return path.join(path.dirname(require.resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
}

const result = findElectronRuntime();
if (result.problem && process.argv.includes('--check')) {
  console.error(
    [
      "Digit Studio's desktop window needs Electron's runtime, which is not available here:",
      `  ${result.problem}.`,
      '',
      '`npm start` runs the browser version instead (same app, served locally: npm run build && npx digits serve).',
      'To get the desktop app, reinstall Electron where it can download its binary: npm rebuild electron',
    ].join('\n'),
  );
  process.exit(1);
}
if (result.problem) {
  startBrowserVersion(result.problem);
} else {
  runDesktop();
}

function runDesktop() {
  if (process.argv.includes('--check')) {
    console.log(`Electron ${result.version}: ${result.binary}`);
    process.exit(0);
  }
  const child = spawn(process.execPath, [electronViteBin(), 'preview', ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
