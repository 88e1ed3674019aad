/**
 * Test helpers for the server: a fake StudioHandlers object (no TensorFlow), an event source the
 * test can fire, a built-renderer folder in a temp dir, and raw HTTP requests with any headers
 * (fetch refuses to set Host).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StudioEvents, StudioHandlers } from '../app/contract.ts';
import { withValidation } from '../app/validation.ts';
import type { StudioEventSource } from './server.ts';

export class FakeEvents implements StudioEventSource {
  private listeners = new Map<string, Set<(payload: never) => void>>();
  on<E extends keyof StudioEvents>(event: E, listener: (payload: StudioEvents[E]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as (payload: never) => void);
    this.listeners.set(event, set);
    return () => set.delete(listener as (payload: never) => void);
  }
  emit<E extends keyof StudioEvents>(event: E, payload: StudioEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (p: StudioEvents[E]) => void)(payload);
  }
  count(event: keyof StudioEvents): number {
    return this.listeners.get(event)?.size ?? 0;
  }
}

const unused = () => Promise.reject(new Error('not used by this test'));

/** Handlers that answer without any ML, behind the real payload validation: enough to exercise the transport. */
export function fakeHandlers(overrides: Partial<StudioHandlers> = {}): StudioHandlers {
  const base: StudioHandlers = {
    getAppInfo: unused,
    startTraining: async () => ({ runId: 'run-1' }),
    resumeRun: unused,
    pauseTraining: async () => undefined,
    resumeTraining: unused,
    stopTraining: unused,
    getTrainingSnapshot: unused,
    listRuns: async () => [],
    getCurrentModel: async () => null,
    evaluateModel: unused,
    getTestImages: async ({ indices }) =>
      indices.map((index) => ({ index, label: index % 10, pixels: new Uint8Array(784).fill(index % 256), probabilities: [] })),
    predictImages: async ({ files }) =>
      files.map((file) => ({
        name: file.name,
        ok: true as const,
        digit: file.bytes.length % 10,
        confidence: 1,
        probabilities: [],
        input: file.bytes,
        doubts: [],
        row: [],
      })),
    exportModel: unused,
    importModel: unused,
    listMyDigits: unused,
    addMyDigits: unused,
    importMyDigits: unused,
    removeMyDigit: unused,
    relabelMyDigit: unused,
    evaluateMyDigits: unused,
    downloadModel: unused,
    uploadModel: unused,
    exportRunModel: unused,
    downloadRunModel: unused,
    useRunModel: unused,
    getModelOffer: async () => null,
    dismissModelOffer: unused,
    labelRun: unused,
    deleteRun: unused,
    getRunCurves: unused,
  };
  // Wrapped like the real service's: invalid payloads meet the real schemas (validation.ts).
  return withValidation({ ...base, ...overrides });
}

/** A folder that looks like out/renderer, plus a secret file beside it (for traversal tests). */
export async function makeStaticDir(): Promise<{ dir: string; secretPath: string }> {
  const parent = await mkdtemp(path.join(tmpdir(), 'digits-serve-'));
  const dir = path.join(parent, 'renderer');
  await mkdir(path.join(dir, 'assets'), { recursive: true });
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>Digit Studio</title>');
  await writeFile(path.join(dir, 'assets', 'app.js'), 'console.log("hi")');
  await writeFile(path.join(dir, 'assets', 'app.css'), 'body{}');
  const secretPath = path.join(parent, 'secret.txt');
  await writeFile(secretPath, 'do not serve');
  return { dir, secretPath };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with exactly these headers and this raw path (no normalisation). */
export function rawRequest(
  port: number,
  options: { path?: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
