/**
 * Electron IPC for the studio contract: one `ipcMain.handle` per request, and the service's events
 * forwarded to the window. Every request must come from our window's top frame showing our
 * renderer; its payload is validated by the handlers themselves (the service wraps every one in
 * `withValidation`, main/app/validation.ts), so it is not checked a second time here.
 *
 * Errors never cross IPC as thrown errors (Electron would keep only the message, prefixed with
 * "Error invoking remote method"): each handler returns an Envelope, `{ ok: true, value }` or
 * `{ ok: false, error: { message, code? } }`, which the preload unwraps (main/app/errors.ts).
 *
 * Electron is passed in (types only here), so this file is tested with a fake ipcMain.
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { EVENT_NAMES, REQUEST_NAMES, eventChannel, requestChannel, type StudioEvents, type StudioHandlers } from '../app/contract.ts';
import { StudioError, toEnvelope } from '../app/errors.ts';
import type { StudioServiceEvents } from '../app/studioService.ts';

/** Where events go: the window's webContents (null once it is gone). */
export interface EventTarget {
  send(channel: string, payload: unknown): void;
  isDestroyed(): boolean;
}

export interface StudioIpcOptions {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  handlers: StudioHandlers;
  events: StudioServiceEvents;
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
  target: () => EventTarget | null;
}

interface WindowLike {
  webContents: { id: number };
}

/**
 * A sender check: the request comes from `window`'s webContents, from its top frame (not an
 * iframe), and that frame shows our renderer (`isRendererUrl`).
 */
export function trustedSender(window: () => WindowLike | null, isRendererUrl: (url: string) => boolean) {
  return (event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>): boolean => {
    const win = window();
    const frame = event.senderFrame;
    if (!win || !frame || event.sender.id !== win.webContents.id) return false;
    if (frame.parent !== null) return false;
    return isRendererUrl(frame.url);
  };
}

/** Registers the handlers and event forwarding; returns the function that removes them all. */
export function registerStudioIpc(options: StudioIpcOptions): () => void {
  for (const name of REQUEST_NAMES) {
    options.ipcMain.handle(requestChannel(name), (event, payload: unknown) =>
      toEnvelope(async () => {
        if (!options.isTrustedSender(event)) {
          throw new StudioError('forbidden', `Refused '${name}': the request did not come from the Digit Studio window.`);
        }
        const handler = options.handlers[name] as (payload: unknown) => Promise<unknown>;
        return handler(payload);
      }),
    );
  }
  const unsubscribe = EVENT_NAMES.map((name) =>
    options.events.on(name, (payload: StudioEvents[typeof name]) => {
      const target = options.target();
      if (target && !target.isDestroyed()) target.send(eventChannel(name), payload);
    }),
  );
  return () => {
    for (const name of REQUEST_NAMES) options.ipcMain.removeHandler(requestChannel(name));
    unsubscribe.forEach((off) => off());
  };
}
