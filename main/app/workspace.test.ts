import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { APP_FOLDER_NAME, appDataDir, currentModelDir, defaultWorkspaceDir } from './workspace.ts';

describe('the default workspace (Electron userData for Digit Studio)', () => {
  it('is $XDG_CONFIG_HOME/<app> on Linux, else ~/.config/<app>, like Electron', () => {
    expect(defaultWorkspaceDir({ platform: 'linux', env: { XDG_CONFIG_HOME: '/x/config' }, home: '/home/ada' })).toBe('/x/config/Digit Studio');
    expect(defaultWorkspaceDir({ platform: 'linux', env: {}, home: '/home/ada' })).toBe('/home/ada/.config/Digit Studio');
  });

  it("is Application Support on macOS and %APPDATA% on Windows (Electron's appData)", () => {
    expect(appDataDir({ platform: 'darwin', env: { XDG_CONFIG_HOME: '/ignored' }, home: '/Users/ada' })).toBe('/Users/ada/Library/Application Support');
    expect(appDataDir({ platform: 'win32', env: { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' }, home: 'C:\\Users\\ada' })).toBe('C:\\Users\\ada\\AppData\\Roaming');
  });

  it("is named after package.json's productName, the name Electron gives the userData folder", () => {
    const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { productName?: string };
    expect(pkg.productName).toBe(APP_FOLDER_NAME);
  });

  it('reads the current model the app left, and null when there is none', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'workspace-'));
    try {
      expect(await currentModelDir(dir)).toBeNull();
      await writeFile(path.join(dir, 'current-model.json'), JSON.stringify({ dir: '/models/a', origin: 'trained' }));
      expect(await currentModelDir(dir)).toBe('/models/a');
      await writeFile(path.join(dir, 'current-model.json'), '{not json');
      expect(await currentModelDir(dir)).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
