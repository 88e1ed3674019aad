// Finding Electron's runtime without ever triggering its download, and checking that it runs:
// the one copy, used by `npm start` (bin/start.mjs) and the end-to-end tests (e2e/electron.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const PROBE_TIMEOUT_MS = 30_000;

/** Where Electron's npm package keeps (or would keep) its binary; never triggers a download. */
function electronBinary() {
  let packageDir;
  try {
    packageDir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { problem: 'the electron package is not installed (node_modules/electron is missing)' };
  }
  const pathFile = path.join(packageDir, 'path.txt');
  const fallback = process.platform === 'win32' ? 'electron.exe' : process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : 'electron';
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (!relative && !override) {
    return { problem: "Electron's binary was never downloaded (node_modules/electron/path.txt is missing; its install step needs network access)" };
  }
  const binary = override ? path.join(override, relative ?? fallback) : path.join(packageDir, 'dist', relative);
  if (!existsSync(binary)) return { problem: `Electron's binary is missing: ${binary}` };
  return { binary };
}

/** Runs `electron --version`; returns the version, or the reason it does not run. */
function probe(binary) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS });
  if (result.error) return { problem: `Electron's binary does not start (${result.error.message})` };
  if (result.status !== 0) {
    const detail = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n')[0] || `exit code ${result.status ?? result.signal}`;
    return { problem: `Electron's binary does not run here (${detail})` };
  }
  return { version: result.stdout.trim() };
}

/** Electron's binary and version, or the reason it cannot run here (see electronRuntime.d.mts). */
export function findElectronRuntime() {
  const found = electronBinary();
  if (found.problem) return found;
  const ran = probe(found.binary);
  return ran.problem ? ran : { binary: found.binary, version: ran.version };
}
