/**
 * Opens a URL in the user's default browser where there is a screen to show it on: `xdg-open`
 * on Linux and other Unixes when DISPLAY or WAYLAND_DISPLAY is set, `open` on macOS, `start` on
 * Windows. Without a display (a server, an SSH session) nothing is started and the caller prints
 * the URL instead.
 */
import { spawn } from 'node:child_process';

export type OpenOutcome = { opened: true; command: string } | { opened: false; reason: string };

export interface OpenerEnvironment {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
}

/** The command that would open `url` here, or why there is none. */
export function browserCommand(url: string, { platform, env }: OpenerEnvironment): { command: string; args: string[] } | { reason: string } {
  if (platform === 'darwin') return { command: 'open', args: [url] };
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url] };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return { reason: 'no display here (DISPLAY and WAYLAND_DISPLAY are unset)' };
  return { command: 'xdg-open', args: [url] };
}

/** Starts the browser and does not wait for it; resolves once the opener started or failed to. */
export function openInBrowser(url: string, environment: OpenerEnvironment = { platform: process.platform, env: process.env }): Promise<OpenOutcome> {
  const found = browserCommand(url, environment);
  if ('reason' in found) return Promise.resolve({ opened: false, reason: found.reason });
  return new Promise((resolve) => {
    const child = spawn(found.command, found.args, { stdio: 'ignore', detached: true, env: environment.env });
    child.once('error', (error) => resolve({ opened: false, reason: `${found.command} could not be started (${error.message})` }));
    child.once('spawn', () => {
      child.unref();
      resolve({ opened: true, command: found.command });
    });
  });
}
