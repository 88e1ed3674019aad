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
