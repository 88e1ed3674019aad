import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserCommand, openInBrowser } from './openBrowser.ts';

const URL_ = 'http://127.0.0.1:5000/?token=abc';

describe('opening the browser', () => {
  it('uses xdg-open only where there is a display (X11 or Wayland)', () => {
    expect(browserCommand(URL_, { platform: 'linux', env: {} })).toEqual({ reason: expect.stringMatching(/no display/) });
    expect(browserCommand(URL_, { platform: 'linux', env: { DISPLAY: ':0' } })).toEqual({ command: 'xdg-open', args: [URL_] });
    expect(browserCommand(URL_, { platform: 'linux', env: { WAYLAND_DISPLAY: 'wayland-0' } })).toEqual({ command: 'xdg-open', args: [URL_] });
    expect(browserCommand(URL_, { platform: 'darwin', env: {} })).toEqual({ command: 'open', args: [URL_] });
  });

  it.runIf(process.platform === 'linux')('runs the opener with the URL, and says so when it cannot start', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'opener-'));
    try {
      const log = path.join(dir, 'opened.txt');
      await writeFile(path.join(dir, 'xdg-open'), `#!/bin/sh\necho "$1" > "${log}"\n`);
      await chmod(path.join(dir, 'xdg-open'), 0o755);
      const outcome = await openInBrowser(URL_, { platform: 'linux', env: { DISPLAY: ':0', PATH: dir } });
      expect(outcome).toEqual({ opened: true, command: 'xdg-open' });
      await expect.poll(() => readFile(log, 'utf8').catch(() => '')).toBe(`${URL_}\n`);

      const missing = await openInBrowser(URL_, { platform: 'linux', env: { DISPLAY: ':0', PATH: path.join(dir, 'none') } });
      expect(missing).toEqual({ opened: false, reason: expect.stringMatching(/xdg-open could not be started/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
