import { beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENT_NAMES, REQUEST_NAMES, eventChannel, requestChannel, type StudioApi } from '../main/app/contract.ts';

type Listener = (event: unknown, payload: unknown) => void;

const electron = vi.hoisted(() => {
  const exposed: Record<string, unknown> = {};
  const listeners = new Map<string, Set<Listener>>();
  return {
    exposed,
    listeners,
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
    ipcRenderer: {
      invoke: vi.fn(async (channel: string, payload: unknown): Promise<unknown> => ({ ok: true, value: { channel, payload } })),
      on: vi.fn((channel: string, listener: Listener) => {
        if (!listeners.has(channel)) listeners.set(channel, new Set());
        listeners.get(channel)!.add(listener);
      }),
      removeListener: vi.fn((channel: string, listener: Listener) => listeners.get(channel)?.delete(listener)),
    },
  };
});

vi.mock('electron', () => ({ contextBridge: electron.contextBridge, ipcRenderer: electron.ipcRenderer }));

let studio: StudioApi;

beforeAll(async () => {
  await import('./index.ts');
  studio = electron.exposed.studio as StudioApi;
});

describe('preload', () => {
  it('exposes exactly one method per request plus on(), as window.studio only', () => {
    expect(Object.keys(electron.exposed)).toEqual(['studio']);
    expect(Object.keys(studio).sort()).toEqual([...REQUEST_NAMES, 'on'].sort());
    for (const key of Object.keys(studio)) expect(typeof (studio as Record<string, unknown>)[key]).toBe('function');
  });

  it('invokes each request on its own channel with the payload, and returns the reply value', async () => {
    const payloads: Record<string, unknown> = {
      startTraining: { preset: 'fast', epochs: 2 },
      resumeRun: { runId: 'fast-1' },
      getTestImages: { indices: [1, 2] },
      predictImages: { files: [{ name: 'a.png', bytes: new Uint8Array([1]) }] },
      uploadModel: { files: [{ name: 'model.json', bytes: new Uint8Array([1]) }] },
    };
    for (const name of REQUEST_NAMES) {
      electron.ipcRenderer.invoke.mockClear();
      const call = (studio as unknown as Record<string, (payload?: unknown) => Promise<unknown>>)[name];
      const reply = await call(payloads[name]);
      expect(electron.ipcRenderer.invoke).toHaveBeenCalledTimes(1);
      expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith(requestChannel(name), payloads[name]);
      expect(reply).toEqual({ channel: requestChannel(name), payload: payloads[name] });
    }
  });

  it('sends no folder path for export or import, whatever the page passes: main asks the user', async () => {
    for (const name of ['exportModel', 'importModel'] as const) {
      electron.ipcRenderer.invoke.mockClear();
      await (studio as unknown as Record<string, (payload?: unknown) => Promise<unknown>>)[name]({ dir: '/etc', overwrite: true });
      expect(electron.ipcRenderer.invoke).toHaveBeenCalledWith(requestChannel(name), undefined);
    }
  });

  it('rejects with {message, code} when main answers with an error envelope', async () => {
    electron.ipcRenderer.invoke.mockResolvedValueOnce({ ok: false, error: { message: 'No model yet', code: 'no-model' } });
    await expect(studio.evaluateModel()).rejects.toEqual({ message: 'No model yet', code: 'no-model' });
    electron.ipcRenderer.invoke.mockResolvedValueOnce('garbage');
    await expect(studio.listRuns()).rejects.toMatchObject({ code: 'internal' });
  });

  it('passes listeners the payload only, never the IPC event, and unsubscribes them', () => {
    for (const name of EVENT_NAMES) {
      const received: unknown[][] = [];
      const off = studio.on(name, (...args: unknown[]) => received.push(args));
      const registered = [...(electron.listeners.get(eventChannel(name)) ?? [])];
      expect(registered).toHaveLength(1);
      const ipcEvent = { sender: { send: () => {} }, ports: [] };
      registered[0](ipcEvent, { type: 'state', state: 'running', runId: 'r' });
      expect(received).toEqual([[{ type: 'state', state: 'running', runId: 'r' }]]);
      off();
      expect(electron.listeners.get(eventChannel(name))?.size).toBe(0);
      expect(electron.ipcRenderer.removeListener).toHaveBeenCalledWith(eventChannel(name), registered[0]);
    }
    expect(() => studio.on('secrets' as never, () => {})).toThrow(/Unknown event/);
  });
});
