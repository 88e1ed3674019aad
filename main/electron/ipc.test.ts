import { describe, expect, it, vi } from 'vitest';
import { REQUEST_NAMES, eventChannel, requestChannel, type StudioEvents, type StudioHandlers } from '../app/contract.ts';
import type { Envelope } from '../app/errors.ts';
import { EventHub } from '../app/eventHub.ts';
import { withValidation } from '../app/validation.ts';
import { registerStudioIpc, trustedSender } from './ipc.ts';
import { isRendererUrl } from './rendererFiles.ts';

type Handler = (event: unknown, payload: unknown) => Promise<Envelope<unknown>>;

function setup() {
  const registered = new Map<string, Handler>();
  const ipcMain = {
    handle: vi.fn((channel: string, handler: Handler) => registered.set(channel, handler)),
    removeHandler: vi.fn((channel: string) => registered.delete(channel)),
  };
  const handlers = Object.fromEntries(REQUEST_NAMES.map((name) => [name, vi.fn(async (payload: unknown) => ({ handled: name, payload }))])) as unknown as StudioHandlers &
    Record<string, ReturnType<typeof vi.fn>>;
  // As the service does: every handler validates its own payload (the real zod schemas).
  const hub = new EventHub<StudioEvents>();
  const sent: [string, unknown][] = [];
  const webContents = { id: 7, send: (channel: string, payload: unknown) => sent.push([channel, payload]), isDestroyed: () => false };
  const window = { webContents };
  const isTrustedSender = trustedSender(() => window, (url) => isRendererUrl(url));
  const off = registerStudioIpc({ ipcMain: ipcMain as never, handlers: withValidation(handlers), events: hub, isTrustedSender: isTrustedSender as never, target: () => webContents });
  const ours = { sender: { id: 7 }, senderFrame: { url: 'app://studio/index.html', parent: null } };
  const call = (name: string, payload: unknown, event: unknown = ours) => registered.get(requestChannel(name as never))!(event, payload);
  return { registered, ipcMain, handlers, hub, sent, call, off, ours };
}

describe('main IPC', () => {
  it('registers one handler per request and passes a valid payload to the service', async () => {
    const { registered, handlers, call } = setup();
    expect([...registered.keys()].sort()).toEqual(REQUEST_NAMES.map((n) => requestChannel(n)).sort());
    const reply = await call('startTraining', { preset: 'seed', steps: 100 });
    expect(reply).toEqual({ ok: true, value: { handled: 'startTraining', payload: { preset: 'seed', steps: 100 } } });
    expect(handlers.startTraining).toHaveBeenCalledWith({ preset: 'seed', steps: 100 });
    expect(await call('listRuns', undefined)).toMatchObject({ ok: true });
  });

  it('answers an invalid payload with an error envelope and never calls the service', async () => {
    const { handlers, call } = setup();
    const reply = await call('getTestImages', { indices: 'all' });
    expect(reply.ok).toBe(false);
    expect(!reply.ok && reply.error).toEqual({ code: 'invalid-payload', message: expect.stringMatching(/getTestImages.*indices/) });
    expect(handlers.getTestImages).not.toHaveBeenCalled();
  });

  it('refuses requests from another webContents, a subframe or a page that is not our renderer', async () => {
    const { handlers, call, ours } = setup();
    const strangers = [
      { ...ours, sender: { id: 8 } },
      { ...ours, senderFrame: { url: 'app://studio/index.html', parent: {} } },
      { ...ours, senderFrame: { url: 'https://evil.example/', parent: null } },
      { ...ours, senderFrame: { url: 'file:///work/main/out/renderer/index.html', parent: null } },
      { ...ours, senderFrame: null },
    ];
    for (const event of strangers) {
      const reply = await call('getAppInfo', undefined, event);
      expect(reply).toEqual({ ok: false, error: { code: 'forbidden', message: expect.stringMatching(/did not come from the Digit Studio window/) } });
    }
    expect(handlers.getAppInfo).not.toHaveBeenCalled();
  });

  it('turns a failing handler into an error envelope with its message and code', async () => {
    const { handlers, call } = setup();
    (handlers.evaluateModel as ReturnType<typeof vi.fn>).mockRejectedValueOnce(Object.assign(new Error('No model yet'), { code: 'no-model' }));
    expect(await call('evaluateModel', undefined)).toEqual({ ok: false, error: { message: 'No model yet', code: 'no-model' } });
  });

  it('forwards service events to the window on their channels, and unregisters everything', () => {
    const { hub, sent, off, registered } = setup();
    hub.emit('training', { type: 'state', state: 'paused', runId: 'r1' });
    expect(sent).toEqual([[eventChannel('training'), { type: 'state', state: 'paused', runId: 'r1' }]]);
    off();
    expect(registered.size).toBe(0);
    hub.emit('training', { type: 'state', state: 'running', runId: 'r1' });
    expect(sent).toHaveLength(1);
  });
});
