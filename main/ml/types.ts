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
