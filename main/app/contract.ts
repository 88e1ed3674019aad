/**
 * The one contract between the renderer and the main side, types only.
 *
 * Every request is a method of `StudioApi` taking at most one payload object and returning a
 * promise; every push from main is an event of `StudioEvents`. The Electron preload implements
 * `StudioApi` over IPC (`contextBridge`), `digits serve` implements it over a WebSocket, and
 * main registers one handler per request. Adding a request = one entry in `Requests` + a handler.
 *
 * Byte arrays travel as Uint8Array (structured clone in Electron; the WebSocket transport
 * encodes them).
 */
import type { AppLimits } from '../ml/limits.ts';
import type { BackendName, ClassMetrics, DigitReading, Doubt, Mistake, LabelledReading, PresetName, RunData, RunSettingsInfo, RunStatus, RunSummary, SetMetrics, TrainingEvent } from '../ml/types.ts';

export type { AppLimits, BackendName, PresetName, RunData, RunSettingsInfo, RunStatus, RunSummary, TrainingEvent };

export interface PresetInfo {
  name: PresetName;
  title: string;
  /** Plain words: what it is and what to expect. */
  summary: string;
  /** The recipe's details, for whoever wants them. */
  description: string;
  batchSize: number;
  learningRate: number;
  /** Default length of a run: epochs, or steps for the seed (50,000 like the tutorial). */
  defaultEpochs?: number;
  defaultSteps?: number;
}

export interface DatasetInfo {
  source: string;
  train: number;
  validation: number;
  test: number;
}

export interface AppInfo {
  version: string;
  /** 'electron' or 'browser' (digits serve): decides e.g. whether export shows a folder chooser. */
  shell: 'electron' | 'browser';
  backend: { name: BackendName; reason: string };
  dataset: DatasetInfo;
  presets: PresetInfo[];
  defaultPreset: PresetName;
  /** The settings a fine-tune starts with (start from the current model): measured, see pictureTraining.ts. */
  fineTune: { batchSize: number; learningRate: number; epochs: number };
  /** Hard limits main enforces (main/ml/limits.ts): the train panel's inputs, picture and request sizes. */
  limits: AppLimits;
  /** Things to tell the user at start, e.g. why the model of the last session was not restored. */
  notices?: string[];
}

export interface TrainingRequest {
  preset: PresetName;
  epochs?: number;
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  /** Train on the first N images only (quick experiments). */
  limit?: number;
  /** Start from fresh weights (default) or fine-tune the current model (its preset wins). */
  startFrom?: 'scratch' | 'current';
  /** MNIST alone (default), MNIST with the "My digits" collection mixed in, or the collection alone. */
  data?: TrainingData;
  /**
   * With "My digits": the share of each digit's pictures kept aside (never trained on) to check
   * the model at each epoch end, in [0, 1); 0 = no check on my digits. Default 0.2 (ml/heldOut.ts).
   */
  holdout?: number;
}

export type TrainingData = 'mnist' | 'mnist+mine' | 'mine';

export type TrainingState = 'idle' | 'running' | 'paused' | 'stopping' | 'finished' | 'stopped' | 'failed';

/** Everything the train panel needs to redraw itself after a reload or reconnect. */
export interface TrainingSnapshot {
  state: TrainingState;
  runId: string | null;
  request: TrainingRequest | null;
  /** The 'start' event of the current run, if any. */
  start: Extract<TrainingEvent, { type: 'start' }> | null;
  /** Thinned loss curve so far: [step, loss] pairs. */
  losses: [number, number][];
  /** The learning rate where it changed: [step, rate] pairs (it is constant in between). */
  learningRates: [number, number][];
  epochs: Extract<TrainingEvent, { type: 'epoch' }>[];
  last: Extract<TrainingEvent, { type: 'progress' }> | null;
  elapsedSeconds: number;
  error: string | null;
}

/** Pushed to the renderer: the trainer's own events (throttled) plus lifecycle ones. */
export type TrainingUpdate =
  | TrainingEvent
  /** `elapsedSeconds`: the run's running time so far by main's clock, so every window and every reload shows the same. */
  | { type: 'state'; state: TrainingState; runId: string | null; message?: string; elapsedSeconds?: number }
  | {
      type: 'done';
      runId: string;
      testAccuracy: number;
      model: ModelInfo;
      /** Accuracy on the held-out part of "My digits", when the run trained on them. */
      imagesAccuracy?: number;
      /** The starting model's figures, when the run fine-tuned it on "My digits". */
      before?: { testAccuracy: number; imagesAccuracy?: number };
    };

export interface ModelInfo {
  /** Where it came from: a training run, or an imported folder. */
  origin: 'trained' | 'imported';
  /**
   * Folder on the main side's disk holding the model. Desktop app only: the browser mode
   * (`digits serve`) never tells a page the server's paths, so there it is absent (see `name`).
   */
  dir?: string;
  /** What to call it: the run id of a run's model, else the folder's name (unique per upload). */
  name: string;
  /** The workspace run whose model this is (its folder is `<workspace>/runs/<runId>/model`), if any. */
  runId?: string;
  preset: PresetName | null;
  testAccuracy: number | null;
  createdAt: string | null;
  /** What the user should know about the folder, e.g. that no SHA-256 was recorded to verify its weights by. */
  notes?: string[];
}

/** Shapes shared with the ML core, defined once in ml/types.ts. */
export type ClassMetricsInfo = ClassMetrics;
export type MistakeInfo = Mistake;
export type PredictionDoubt = Doubt;

/**
 * A run ended while another model was current: the app offers the new model beside the current
 * one, both measured on the same test set, and changes nothing until the user chooses.
 */
export interface ModelOffer {
  runId: string;
  /** The run's name as shown in the run list. */
  runName: string;
  status: 'finished' | 'stopped';
  model: ModelInfo;
  testAccuracy: number;
  current: ModelInfo;
  currentAccuracy: number;
  /** Which is better on the test set ('same' within one test image). */
  better: 'new' | 'current' | 'same';
}

/** The curves of one run, for comparing runs. */
export interface RunCurves {
  runId: string;
  /** [step, loss] pairs, thinned. */
  losses: [number, number][];
  epochs: { epoch: number; step: number; validationAccuracy: number; validationLoss: number }[];
  /** [step, training seconds] at epoch ends and session ends, for aligning by wall time. */
  times: [number, number][];
}


export interface EvaluationSummary extends SetMetrics {
  model: ModelInfo;
  /** The most confident mistakes, most confident first (at most 100). */
  topMistakes: MistakeInfo[];
  /** Test-image indices per confusion cell, key `${true}-${predicted}` (off-diagonal cells complete; diagonal cells at most 50). */
  cellIndices: Record<string, number[]>;
  seconds: number;
}

export interface TestImage {
  index: number;
  label: number;
  /** 784 grey bytes, ink = 255: exactly what the model saw. */
  pixels: Uint8Array;
  probabilities: number[];
}

export interface ImageUpload {
  name: string;
  bytes: Uint8Array;
}

export type PredictionItem =
  | ({ name: string; ok: true } & DigitReading & {
      /**
       * Why the answer may be wrong: 'low-confidence' (below the measured threshold),
       * 'several-digits' (marks side by side: see `row`), 'unlike-strokes' (filled areas, not pen
       * strokes). Empty when it looks like one clearly read digit.
       */
      doubts: PredictionDoubt[];
      /** The picture read as a number, left to right, when it holds two or more marks side by side. */
      row: RowDigit[];
    })
  | { name: string; ok: false; error: string; code?: string };

export interface RowDigit extends Pick<DigitReading, 'digit' | 'confidence' | 'input'> {
  /** The confidence is below the measured "not sure" threshold. */
  unsure: boolean;
}

/** One picture of the "My digits" collection. */
export interface MyDigitItem {
  /** Its path inside the collection folder, e.g. `7/drawn-3f2a9c01bb.png`. */
  file: string;
  label: number;
  /** The original file's bytes for a thumbnail (null when the file is large). */
  picture: Uint8Array | null;
  /** 784 grey bytes, ink = 255: what the model sees. */
  input: Uint8Array;
}

export interface MyDigitsSummary {
  /** The collection folder (labelled-folder layout: <dir>/<digit>/<picture>). */
  dir: string;
  perDigit: number[];
  items: MyDigitItem[];
  /** Files in the digit folders that cannot be read, with the reason. */
  failed: { file: string; error: string }[];
  /** Other files in the folder, not used. */
  ignored: number;
}

export interface MyDigitUpload {
  label: number;
  name: string;
  bytes: Uint8Array;
}

export interface MyDigitsChange {
  summary: MyDigitsSummary;
  /** Files now in the collection. */
  added: string[];
  /** Pictures refused, each with why. */
  failed: { name: string; error: string }[];
  /** Dropped files that are not labelled pictures (outside a 0..9 folder, not a picture). */
  ignored: string[];
}

/** What the model read for one picture of "My digits" (`file` as in MyDigitItem). */
export type MyDigitsReading = LabelledReading;

/** The current model on the "My digits" collection: the same figures as the MNIST test, by file. */
export interface MyDigitsEvaluation extends SetMetrics {
  model: ModelInfo;
  /** The collection folder evaluated. */
  dir: string;
  /** Every picture read, in the collection's order (file, true digit, what the model read). */
  readings: MyDigitsReading[];
  /** Every mistake, most confident first. */
  mistakes: MyDigitsReading[];
  /** Files in the digit folders that could not be read, each with its error (not counted). */
  failed: { file: string; error: string }[];
  seconds: number;
}

/** What exportModel did: main asked the user where (and whether to replace a previous model). */
export type ExportResult = { status: 'exported'; dir: string } | { status: 'cancelled' };

/** A named file travelling as bytes: a model folder's files on upload, its zip on download. */
export interface FileUpload {
  name: string;
  bytes: Uint8Array;
}

/** Request name -> [payload, response]. The single source of truth for both sides. */
export interface Requests {
  getAppInfo: [void, AppInfo];
  startTraining: [TrainingRequest, { runId: string }];
  resumeRun: [{ runId: string }, { runId: string }];
  pauseTraining: [void, void];
  resumeTraining: [void, void];
  stopTraining: [void, void];
  getTrainingSnapshot: [void, TrainingSnapshot];
  listRuns: [void, RunSummary[]];
  getCurrentModel: [void, ModelInfo | null];
  evaluateModel: [void, EvaluationSummary];
  getTestImages: [{ indices: number[] }, TestImage[]];
  predictImages: [{ files: ImageUpload[] }, PredictionItem[]];
  /**
   * Desktop only: main asks the user for a folder (and before replacing a previous model) and
   * writes the model there. The window never names a path.
   */
  exportModel: [void, ExportResult];
  /** Desktop only: main asks the user for a model folder and loads it (null when cancelled). */
  importModel: [void, ModelInfo | null];
  /** The current model folder as one zip (model.json, weights, metadata.json): the browser's export. */
  downloadModel: [void, FileUpload];
  /**
   * Loads a model sent as files (model.json, its .bin weights, metadata.json) or as one zip of
   * them, through the same checks as a folder on disk: the browser's import.
   */
  uploadModel: [{ files: FileUpload[] }, ModelInfo];
  /** The "My digits" collection: counts, thumbnails (original and model input). */
  listMyDigits: [void, MyDigitsSummary];
  /** Files pictures (teach-mode drawings, Predict cards) under their digits. */
  addMyDigits: [{ pictures: MyDigitUpload[] }, MyDigitsChange];
  /** Adds a dropped labelled folder's files (path as dropped, label from its 0..9 folder) or zips of one. */
  importMyDigits: [{ files: { path: string; bytes: Uint8Array }[] }, MyDigitsChange];
  removeMyDigit: [{ file: string }, MyDigitsSummary];
  relabelMyDigit: [{ file: string; label: number }, MyDigitsSummary];
  /** The current model on the collection: accuracy, confusion matrix, mistakes by file. */
  evaluateMyDigits: [void, MyDigitsEvaluation];
  /** Desktop only: main asks for a folder and writes the model of run `runId` there (as exportModel). */
  exportRunModel: [{ runId: string }, ExportResult];
  /** The model folder of run `runId` as one zip: the browser's export of a run (as downloadModel). */
  downloadRunModel: [{ runId: string }, FileUpload];
  /** Makes a run's model the current one (also the answer "use the new model" to an offer). */
  useRunModel: [{ runId: string }, ModelInfo];
  /** The pending offer of a newly ended run's model, if any. */
  getModelOffer: [void, ModelOffer | null];
  /** "Keep the current model": forgets the pending offer (the run and its model stay listed). */
  dismissModelOffer: [void, void];
  /** Sets a run's shown name and/or note; returns the run as listed. */
  labelRun: [{ runId: string; name?: string; note?: string }, RunSummary];
  /** Deletes a run's folder. Refused for the run training now and for the current model's run. */
  deleteRun: [{ runId: string }, void];
  /** The curves of 1 to 4 runs, read on demand (the list never reads them). */
  getRunCurves: [{ runIds: string[] }, RunCurves[]];
}

/** Event name -> payload, pushed from main to the renderer. */
export interface StudioEvents {
  training: TrainingUpdate;
  modelChanged: ModelInfo;
  /** A run ended while another model was current (null: the offer was answered). */
  modelOffer: ModelOffer | null;
  /** The test-set evaluation under way: test images read so far, after each batch. */
  evaluationProgress: { done: number; total: number };
}

export type RequestName = keyof Requests;
export type Payload<K extends RequestName> = Requests[K][0];
export type Response<K extends RequestName> = Requests[K][1];

/** What the renderer calls: one method per request, plus event subscription. */
export type StudioApi = {
  [K in RequestName]: Payload<K> extends void ? () => Promise<Response<K>> : (payload: Payload<K>) => Promise<Response<K>>;
} & {
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof StudioEvents>(event: E, listener: (payload: StudioEvents[E]) => void): () => void;
};

/** What main implements: one handler per request. */
export type StudioHandlers = {
  [K in RequestName]: (payload: Payload<K>) => Promise<Response<K>>;
};

/** IPC channel names (Electron) and message names (WebSocket) are derived, never typed twice. */
export const REQUEST_NAMES = [
  'getAppInfo',
  'startTraining',
  'resumeRun',
  'pauseTraining',
  'resumeTraining',
  'stopTraining',
  'getTrainingSnapshot',
  'listRuns',
  'getCurrentModel',
  'evaluateModel',
  'getTestImages',
  'predictImages',
  'exportModel',
  'importModel',
  'listMyDigits',
  'addMyDigits',
  'importMyDigits',
  'removeMyDigit',
  'relabelMyDigit',
  'evaluateMyDigits',
  'downloadModel',
  'uploadModel',
  'exportRunModel',
  'downloadRunModel',
  'useRunModel',
  'getModelOffer',
  'dismissModelOffer',
  'labelRun',
  'deleteRun',
  'getRunCurves',
] as const satisfies readonly RequestName[];

export const EVENT_NAMES = ['training', 'modelChanged', 'modelOffer', 'evaluationProgress'] as const satisfies readonly (keyof StudioEvents)[];

export const requestChannel = (name: RequestName) => `studio:${name}`;
export const eventChannel = (name: keyof StudioEvents) => `studio-event:${name}`;

/** Errors cross the boundary as this shape (Electron strips custom error fields). */
export interface StudioErrorInfo {
  message: string;
  code?: string;
}

/** Compile-time check that REQUEST_NAMES lists every request (an omission is a type error here). */
type MissingRequests = Exclude<RequestName, (typeof REQUEST_NAMES)[number]>;
export const ALL_REQUESTS_LISTED: MissingRequests extends never ? true : MissingRequests = true;
