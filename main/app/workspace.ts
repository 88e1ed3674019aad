/**
 * Where Digit Studio keeps its runs and its current model: one per-user folder shared by the
 * desktop app, `digits serve` and the CLI, the folder Electron's `app.getPath('userData')` names
 * (its appData folder + the app's name, package.json's productName).
 *
 * Written here rather than taken from env-paths: env-paths' folders differ from Electron's on
 * macOS (Preferences, not Application Support) and Windows (it appends Config), and the point is
 * that the desktop app and the command line find the same folder.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** package.json's productName: Electron names the userData folder after it. */
export const APP_FOLDER_NAME = 'Digit Studio';
/** Remembers which model is current across restarts (written by the studio service). */
export const CURRENT_MODEL_FILE = 'current-model.json';

export interface PlatformInfo {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  home: string;
}

const thisMachine = (): PlatformInfo => ({ platform: process.platform, env: process.env, home: os.homedir() });

/** Electron's `app.getPath('appData')`: the per-user application data folder of the platform. */
export function appDataDir({ platform, env, home }: PlatformInfo = thisMachine()): string {
  if (platform === 'win32') return env.APPDATA || path.join(home, 'AppData', 'Roaming');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support');
  return env.XDG_CONFIG_HOME || path.join(home, '.config');
}

/** The default workspace: what Electron's userData would be for Digit Studio. */
export function defaultWorkspaceDir(machine: PlatformInfo = thisMachine()): string {
  return path.join(appDataDir(machine), APP_FOLDER_NAME);
}

/** The folder of the workspace's current model (trained or imported), or null when it has none. */
export async function currentModelDir(workspaceDir: string): Promise<string | null> {
  try {
    const saved = JSON.parse(await readFile(path.join(workspaceDir, CURRENT_MODEL_FILE), 'utf8')) as { dir?: unknown };
    return typeof saved.dir === 'string' ? saved.dir : null;
  } catch {
    return null;
  }
}
