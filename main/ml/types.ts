/**
 * Names and event shapes of the ML core that the renderer also needs. No imports: the renderer's
 * type check must not pull in Node or TensorFlow.js through the contract.
 */
export type BackendName = 'native' | 'wasm' | 'cpu';

export type PresetName = 'seed' | 'cnn' | 'fast';

/** What the trainer reports while it runs. */
export type TrainingEvent =
  | {
      type: 'start';
      preset: PresetName;
      startStep: number;
      totalSteps: number;
      stepsPerEpoch: number;
      batchSize: number;
      trainCount: number;
      validationCount: number;
      resumed: boolean;
      /** Labelled pictures held out and checked at each epoch end (0: none held out); absent when the run has none. */
      heldOutPictures?: number;
      /** What a resumed run did with what was asked, and checkpoints it skipped (for the user). */
      notices?: string[];
    }
  | { type: 'progress'; step: number; epoch: number; loss: number; learningRate: number; samplesPerSecond: number }
  | {
      type: 'epoch';
      epoch: number;
      step: number;
      validationAccuracy: number;
      validationLoss: number;
      seconds: number;
      /** Accuracy and loss on held-out labelled pictures, when the run has them. */
      imagesAccuracy?: number;
      imagesLoss?: number;
    }
  | { type: 'checkpoint'; step: number };

/** Precision and recall of one digit on a labelled set. */
export interface ClassMetrics {
  digit: number;
  precision: number;
  recall: number;
  /** How many images of the set have this label. */
  support: number;
}

/** A misclassified image of a labelled set. */
export interface Mistake {
  index: number;
  label: number;
  predicted: number;
  /** Probability the model gave its (wrong) prediction. */
  confidence: number;
}

/** What the model read for one picture of a labelled folder. */
export interface LabelledReading {
  /** The picture's path inside the folder, e.g. `7/drawn-3f2a.png`. */
  file: string;
  label: number;
  predicted: number;
  /** Probability the model gave its prediction. */
  confidence: number;
}

/** A model's results on a labelled set: what every evaluation view shows. */
export interface SetMetrics {
  accuracy: number;
  /** Mean cross-entropy of the true class. */
  loss: number;
  count: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
  perClass: ClassMetrics[];
}

/** Why a reading may be wrong. */
export type Doubt =
  /** The model's confidence is below the measured "not sure" threshold. */
  | 'low-confidence'
  /** The picture holds several marks side by side: a number, not one digit. */
  | 'several-digits'
  /** The ink is unlike pen strokes (filled areas): likely not a digit at all. */
  | 'unlike-strokes';

/** One picture read as a digit: the model's answer and what it saw. */
export interface DigitReading {
  digit: number;
  confidence: number;
  /** Ten class probabilities, digit 0 first. */
  probabilities: number[];
  /** The 28x28 input the model saw, as grey bytes (ink = 255): "what the model sees". */
  input: Uint8Array;
}

/**
 * Where a run stands, as the run list reads it from the run's folder:
 * - running: training now (only the app knows; the folder alone cannot tell);
 * - finished / stopped: it ended and wrote its model (a stopped run can be resumed);
 * - interrupted: it has a checkpoint but did not end cleanly (crash, killed); resumable;
 * - damaged: its files are unreadable or half-written (`problem` says which and why).
 */
export type RunStatus = 'running' | 'finished' | 'stopped' | 'interrupted' | 'damaged';

/** What a run was trained on (fields of the model's metadata when present). */
export interface RunData {
  /** In the user's words: "MNIST", "my digits", "MNIST + my digits"... */
  label: string;
  trainCount: number | null;
  /** The model a fine-tuned run started from (its name or folder), null when trained from scratch. */
  fineTunedFrom: string | null;
  /** Labelled pictures held out (never trained on, to check the model), null when the run had no pictures; `share` as asked, when recorded. */
  heldOut: { count: number; share: number | null } | null;
}

/** What a run was started with (its checkpoint records it); a resumed run must match it. */
export interface RunSettings {
  preset: PresetName;
  totalSteps: number;
  batchSize: number;
  learningRate: number;
  trainCount: number;
  seed: number;
}

export interface RunSettingsInfo extends RunSettings {
  /** What the run was started with, as asked (epochs or steps); null for runs without run.json. */
  epochs: number | null;
  /** Steps per epoch (trainCount / batchSize, rounded up). */
  stepsPerEpoch: number;
}

/** One run of the workspace, read from its folder's small files only (never its tensors or curves). */
export interface RunSummary {
  /** The run's folder name under <workspace>/runs: stable, used in every request. */
  runId: string;
  /** The name shown: the user's, or the folder name. */
  name: string;
  note: string;
  preset: PresetName | null;
  settings: RunSettingsInfo | null;
  data: RunData;
  status: RunStatus;
  /** Why a run is damaged (which file, what is wrong); null otherwise. */
  problem: string | null;
  step: number;
  totalSteps: number;
  /** Training seconds, pauses excluded; null when unknown. */
  wallSeconds: number | null;
  backend: string | null;
  bestValidationAccuracy: number | null;
  testAccuracy: number | null;
  /** ISO dates. */
  createdAt: string | null;
  updatedAt: string;
  /** The run's model folder (absolute; `<runId>/model` in the browser mode, see app/browserView.ts), when it has one. */
  modelDir: string | null;
  /** Started in the app (has run.json) or by `digits train --run`. */
  origin: 'app' | 'cli';
  /** A run short of its total with a checkpoint, not training now, can be resumed. */
  resumable: boolean;
}
