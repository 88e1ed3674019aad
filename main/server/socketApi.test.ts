/** The renderer's WebSocket client against the real server (fake handlers), in Node with the `ws` package. */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { REQUEST_NAMES } from '../app/contract.ts';
import { createSocketApi, type ConnectionState, type SocketConstructor, type SocketStudioApi } from '../../renderer/src/lib/socketApi.ts';
import { startServer, type RunningServer } from './server.ts';
import { FakeEvents, fakeHandlers, makeStaticDir } from './testServer.ts';

const TOKEN = 'f'.repeat(64);
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(handlers = fakeHandlers(), port = 0, maxMessageBytes?: number) {
  const { dir } = await makeStaticDir();
  const events = new FakeEvents();
  const server = await startServer({ handlers, events, staticDir: dir, token: TOKEN, port, maxMessageBytes });
  cleanups.push(() => server.close());
  return { server, events, dir };
}

function client(server: RunningServer, maxMessageBytes?: number): SocketStudioApi {
  const api = createSocketApi(`ws://127.0.0.1:${server.port}/ws?token=${TOKEN}`, {
    WebSocket: WebSocket as unknown as SocketConstructor,
    minDelayMs: 20,
    maxDelayMs: 100,
    maxMessageBytes,
  });
  cleanups.push(() => api.close());
  return api;
}

function waitForState(api: SocketStudioApi, wanted: ConnectionState): Promise<void> {
  if (api.connection === wanted) return Promise.resolve();
  return new Promise((resolve) => {
    const off = api.onConnection((state) => {
      if (state === wanted) {
        off();
        resolve();
      }
    });
  });
}

describe('createSocketApi', () => {
  it('has a method for every request of the contract', async () => {
    const { server } = await setup();
    const api = client(server) as unknown as Record<string, unknown>;
    for (const name of REQUEST_NAMES) expect(typeof api[name], name).toBe('function');
  });

  it('queues requests made while connecting and round-trips bytes', async () => {
    const { server } = await setup();
    const api = client(server);
    expect(api.connection).toBe('connecting');
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    const [items, images] = await Promise.all([
      api.predictImages({ files: [{ name: 'seven.png', bytes }] }),
      api.getTestImages({ indices: [3, 12] }),
    ]);
    expect(items).toEqual([{ name: 'seven.png', ok: true, digit: 7, confidence: 1, probabilities: [], input: bytes, doubts: [], row: [] }]);
    expect(images.map((image) => image.index)).toEqual([3, 12]);
    expect(images[1].pixels).toBeInstanceOf(Uint8Array);
    expect(images[1].pixels[0]).toBe(12);
  });

  it('rejects with the server’s message and code', async () => {
    const { server } = await setup();
    const api = client(server);
    await expect(api.startTraining({} as never)).rejects.toMatchObject({
      message: 'Invalid startTraining request: preset: preset must be one of seed, fast, cnn',
      code: 'invalid-payload',
    });
    await expect(api.listRuns()).resolves.toEqual([]);
  });

  it('delivers pushed events to listeners until they unsubscribe', async () => {
    const { server, events } = await setup();
    const api = client(server);
    await waitForState(api, 'open');
    const seen: unknown[] = [];
    const off = api.on('training', (update) => seen.push(update));
    events.emit('training', { type: 'checkpoint', step: 1 });
    await expect.poll(() => seen.length).toBe(1);
    off();
    events.emit('training', { type: 'checkpoint', step: 2 });
    await api.listRuns(); // the push above, if delivered, arrives before this reply
    expect(seen).toEqual([{ type: 'checkpoint', step: 1 }]);
  });

  it('rejects pending requests clearly when the connection drops, then reconnects by itself', async () => {
    let release: () => void = () => undefined;
    let reachedServer!: () => void;
    const reached = new Promise<void>((resolve) => (reachedServer = resolve));
    const handlers = fakeHandlers({
      evaluateModel: () =>
        new Promise((_resolve, reject) => {
          release = () => reject(new Error('late'));
          reachedServer();
        }),
    });
    const first = await setup(handlers);
    const port = first.server.port;
    const api = client(first.server);
    const states: ConnectionState[] = [];
    api.onConnection((state) => states.push(state));
    await waitForState(api, 'open');
    const hanging = api.evaluateModel();
    await reached; // the request is being handled when the server goes away
    await first.server.close();
    await expect(hanging).rejects.toMatchObject({ code: 'disconnected', message: expect.stringMatching(/^evaluateModel: lost the connection/) });
    release();

    const second = await setup(fakeHandlers(), port);
    await waitForState(api, 'open');
    await expect(api.listRuns()).resolves.toEqual([]);
    expect(states[0]).toBe('open');
    expect(states.indexOf('closed')).toBeGreaterThan(0);
    expect(states.at(-1)).toBe('open');
    await second.server.close();
  });

  it('splits a large prediction upload into messages that fit, answers in order', async () => {
    const limit = 300 * 1024;
    const batches: number[] = [];
    const base = fakeHandlers();
    const handlers = fakeHandlers({
      predictImages: async (payload) => {
        batches.push(payload.files.length);
        return base.predictImages(payload);
      },
    });
    const { server } = await setup(handlers, 0, limit);
    const api = client(server, limit);
    const files = Array.from({ length: 7 }, (_, i) => ({ name: `p${i}.png`, bytes: new Uint8Array(60_000 + i).fill(i) }));
    files.splice(3, 0, { name: 'huge.png', bytes: new Uint8Array(400 * 1024) });
    const items = await api.predictImages({ files });
    expect(items.map((item) => item.name)).toEqual(files.map((file) => file.name));
    expect(items[3]).toMatchObject({ ok: false, code: 'too-large', error: expect.stringMatching(/^huge\.png: the file is 0\.4 MB/) });
    items.forEach((item, i) => {
      if (i !== 3) expect(item).toMatchObject({ ok: true, digit: files[i].bytes.length % 10 });
    });
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('refuses to send any other request larger than the limit, and stays connected', async () => {
    const limit = 64 * 1024;
    const { server } = await setup(fakeHandlers(), 0, limit);
    const api = client(server, limit);
    await expect(api.getTestImages({ indices: Array.from({ length: 20_000 }, (_, i) => i) })).rejects.toMatchObject({
      code: 'too-large',
      message: expect.stringMatching(/^getTestImages: the request is too large to send/),
    });
    await expect(api.listRuns()).resolves.toEqual([]);
    expect(api.connection).toBe('open');
  });

  it('rejects everything after close() and does not reconnect', async () => {
    const { server } = await setup();
    const api = client(server);
    await waitForState(api, 'open');
    api.close();
    await expect(api.listRuns()).rejects.toMatchObject({ code: 'disconnected' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(api.connection).toBe('closed');
  });
});
