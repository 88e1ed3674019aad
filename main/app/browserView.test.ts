/** `digits serve` tells pages no server folder: every reply and push carrying a model, on the wire. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../server/server.ts';
import { FakeEvents, fakeHandlers, makeStaticDir } from '../server/testServer.ts';
import { encodeMessage } from '../server/wire.ts';
import { browserModelInfo, browserView } from './browserView.ts';
import type { EvaluationSummary, ModelInfo, ModelOffer, MyDigitsEvaluation, RunSummary } from './contract.ts';

const TOKEN = 'b'.repeat(64);
const SERVER_FOLDER = '/home/someone/.config/digit-studio';

const runModel: ModelInfo = {
  origin: 'trained',
  dir: `${SERVER_FOLDER}/runs/fast-20261129-1/model`,
  name: 'fast-20261129-1',
  runId: 'fast-20261129-1',
  preset: 'fast',
  testAccuracy: 0.97,
  createdAt: null,
};
const uploaded: ModelInfo = {
  origin: 'imported',
  dir: `${SERVER_FOLDER}/uploaded-models/2026-11-29-ab12`,
  name: '2026-11-29-ab12',
  preset: 'fast',
  testAccuracy: 0.93,
  createdAt: null,
  notes: [`${SERVER_FOLDER}/uploaded-models/2026-11-29-ab12 has no metadata.json (a plain TensorFlow.js model folder)`],
};
const offer: ModelOffer = { runId: runModel.runId!, runName: 'fast run', status: 'finished', model: runModel, testAccuracy: 0.97, current: uploaded, currentAccuracy: 0.93, better: 'new' };
const metrics = { count: 1, accuracy: 1, loss: 0, confusion: [], perClass: [], seconds: 0 };

let server: RunningServer;
let events: FakeEvents;
let ws: WebSocket;
const received: string[] = [];

beforeAll(async () => {
  const { dir: staticDir } = await makeStaticDir();
  events = new FakeEvents();
  const handlers = fakeHandlers({
    getCurrentModel: async () => uploaded,
    useRunModel: async () => runModel,
    uploadModel: async () => uploaded,
    evaluateModel: async () => ({ ...metrics, model: uploaded, topMistakes: [], cellIndices: {} }) as unknown as EvaluationSummary,
    evaluateMyDigits: async () => ({ ...metrics, model: uploaded, dir: 'my-digits', readings: [], mistakes: [], failed: [] }) as unknown as MyDigitsEvaluation,
    getModelOffer: async () => offer,
    listRuns: async () => [
      { runId: 'fast-20261129-1', name: 'fast run', modelDir: `${SERVER_FOLDER}/runs/fast-20261129-1/model` } as RunSummary,
      { runId: 'fast-20261129-2', name: 'no model yet', modelDir: null } as RunSummary,
    ],
  });
  server = await startServer({ ...browserView({ handlers, events }), staticDir, token: TOKEN });
  ws = await new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, {
      headers: { Origin: `http://127.0.0.1:${server.port}`, Cookie: `digits_token_${server.port}=${TOKEN}` },
    });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
  ws.on('message', (data) => received.push(data.toString()));
});

afterAll(async () => {
  ws?.close();
  await server?.close();
});

async function until(count: number): Promise<void> {
  for (let i = 0; i < 200 && received.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(received.length).toBeGreaterThanOrEqual(count);
}

describe('browser view of models', () => {
  it('no reply or push names a server folder; each model keeps its name, run and figures', async () => {
    const calls = ['getCurrentModel', 'useRunModel', 'uploadModel', 'evaluateModel', 'evaluateMyDigits', 'getModelOffer', 'listRuns'] as const;
    const payloads: Record<string, unknown> = { useRunModel: { runId: runModel.runId }, uploadModel: { files: [{ name: 'model.json', bytes: new Uint8Array([1]) }] } };
    calls.forEach((method, i) => ws.send(encodeMessage({ id: i + 1, method, payload: payloads[method] })));
    await until(calls.length);
    events.emit('modelChanged', runModel);
    events.emit('modelOffer', offer);
    events.emit('training', { type: 'done', runId: runModel.runId!, testAccuracy: 0.97, model: runModel });
    await until(calls.length + 3);

    const messages = received.map((text) => JSON.parse(text) as { id?: number; event?: string; result?: unknown; payload?: unknown; error?: unknown });
    expect(messages.filter((m) => m.error)).toEqual([]);
    for (const text of received) expect(text).not.toContain(SERVER_FOLDER);
    const reply = (id: number) => messages.find((m) => m.id === id)!.result as Record<string, unknown>;
    expect(reply(1)).toEqual({ origin: 'imported', name: '2026-11-29-ab12', preset: 'fast', testAccuracy: 0.93, createdAt: null, notes: ['2026-11-29-ab12 has no metadata.json (a plain TensorFlow.js model folder)'] });
    expect(reply(2)).toMatchObject({ name: 'fast-20261129-1', runId: 'fast-20261129-1', testAccuracy: 0.97 });
    expect(reply(2)).not.toHaveProperty('dir');
    expect((reply(4).model as ModelInfo).name).toBe('2026-11-29-ab12');
    expect(reply(5).dir).toBe('my-digits');
    expect((reply(6).current as ModelInfo).name).toBe('2026-11-29-ab12');
    // A run's model folder is relative to the runs folder (the page only needs to know there is one).
    expect((messages.find((m) => m.id === 7)!.result as RunSummary[]).map((run) => run.modelDir)).toEqual(['fast-20261129-1/model', null]);
    expect(messages.filter((m) => m.event).map((m) => m.event)).toEqual(['modelChanged', 'modelOffer', 'training']);
  });

  it('the desktop app keeps the folder: only the browser view drops it', () => {
    expect(runModel.dir).toBe(`${SERVER_FOLDER}/runs/fast-20261129-1/model`);
    expect(browserModelInfo(runModel)).toEqual({ origin: 'trained', name: 'fast-20261129-1', runId: 'fast-20261129-1', preset: 'fast', testAccuracy: 0.97, createdAt: null });
  });
});
