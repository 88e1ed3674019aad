/** Whether the desktop app can run here, for the 'electron' project (Playwright's `_electron`). */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ELECTRON_MAIN = path.join(ROOT, 'out', 'main', 'index.js');

/** Why the Electron project cannot run here, or null when it can. Never triggers electron's download. */
export function electronUnavailable(): string | null {
  const pkg = path.join(ROOT, 'node_modules', 'electron');
  const pathFile = path.join(pkg, 'path.txt');
  const missing =
    'Electron runtime not installed: node_modules/electron has no downloaded binary (path.txt and dist/ are missing; ' +
    'the electron package fetches it from the internet at install time, which this machine cannot reach). ' +
    'The same specs run against `digits serve` in the browser project.';
  if (!existsSync(pkg)) return 'Electron runtime not installed: the electron package is missing from node_modules.';
  if (!existsSync(pathFile)) return missing;
  const binary = path.join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  if (!existsSync(binary)) return missing;
  if (!existsSync(ELECTRON_MAIN)) return `Electron app not built: ${ELECTRON_MAIN} is missing (run \`npm run build\`).`;
  const probe = spawnSync(binary, ['--version'], { timeout: 15_000, encoding: 'utf8' });
  if (probe.status !== 0) {
    return `Electron runtime does not start: ${(probe.stderr || probe.error?.message || `exit ${probe.status}`).split('\n')[0]}`;
  }
  return null;
}
