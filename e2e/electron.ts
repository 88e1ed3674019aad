/** Whether the desktop app can run here, for the 'electron' project (Playwright's `_electron`). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElectronRuntime } from '../bin/electronRuntime.mjs';

export const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ELECTRON_MAIN = path.join(ROOT, 'out', 'main', 'index.js');

/** Why the Electron project cannot run here, or null when it can. Never triggers electron's download. */
export function electronUnavailable(): string | null {
  const runtime = findElectronRuntime();
  if (runtime.problem !== undefined) {
    return `Electron runtime unavailable: ${runtime.problem}. The same specs run against \`digits serve\` in the browser project.`;
  }
  if (!existsSync(ELECTRON_MAIN)) return `Electron app not built: ${ELECTRON_MAIN} is missing (run \`npm run build\`).`;
  return null;
}
