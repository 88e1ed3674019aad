/**
 * Model presets. Every model takes [batch, 28, 28, 1] in [0, 1] (ink = 1) and ends with a
 * separate softmax layer, so training can read the logits of the layer before it (numerically
 * stable cross-entropy) while the exported model outputs class probabilities.
 */
import * as tf from '@tensorflow/tfjs';
import { CLASSES, IMAGE_SIZE } from './dataset.ts';
import type { PresetName } from './types.ts';

export type { PresetName };
export type OptimizerName = 'sgd' | 'adam';

export interface TrainingRecipe {
  /** Steps a run takes when neither steps nor epochs are given. */
  defaultSteps?: number;
  defaultEpochs?: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** Multiplied into the learning rate once per epoch (staircase). */
  learningRateDecay: number;
  /** Coefficient of sum(w^2)/2 over the kernels, as TF's l2_regularizer. 0 = none. */
  l2: number;
  /** Moving-average decay cap for the evaluated weights (TF's ExponentialMovingAverage), 0 = off. */
  movingAverageDecay: number;
  /** Random shifts of up to this many pixels while training (data augmentation), 0 = off. */
  augmentShift: number;
}

export interface Preset {
  name: PresetName;
  title: string;
  /** What it is and what to expect, in plain words (the form's first line). */
  summary: string;
  /** The recipe's details (shown on demand). */
  description: string;
  recipe: TrainingRecipe;
  build: (seed: number) => tf.Sequential;
}

/** The seed's numbers (mnist_forward.py / mnist_backward.py). */
const SEED_HIDDEN = 500;
const SEED_STDDEV = 0.1;
const SEED_L2 = 1e-4;

function input(): tf.layers.Layer {
  return tf.layers.flatten({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1], name: 'flatten' });
}

function buildSeed(seed: number): tf.Sequential {
  const init = () => tf.initializers.truncatedNormal({ stddev: SEED_STDDEV, seed: seed++ });
  return tf.sequential({
    name: 'seed_mlp',
    layers: [
      input(),
      tf.layers.dense({ units: SEED_HIDDEN, activation: 'relu', kernelInitializer: init(), biasInitializer: 'zeros', name: 'hidden' }),
      tf.layers.dense({ units: CLASSES, kernelInitializer: init(), biasInitializer: 'zeros', name: 'logits' }),
      tf.layers.activation({ activation: 'softmax', name: 'probabilities' }),
    ],
  });
}

/** The seed's layer sizes, trained with Adam, augmentation off: the quickest way to 98%. */
function buildFast(seed: number): tf.Sequential {
  const init = () => tf.initializers.heNormal({ seed: seed++ });
  return tf.sequential({
    name: 'fast_mlp',
    layers: [
      input(),
      tf.layers.dense({ units: SEED_HIDDEN, activation: 'relu', kernelInitializer: init(), name: 'hidden' }),
      tf.layers.dense({ units: CLASSES, kernelInitializer: init(), name: 'logits' }),
      tf.layers.activation({ activation: 'softmax', name: 'probabilities' }),
    ],
  });
}

/**
 * A compact convolutional network (two 5x5 conv blocks, like LeNet/the TF tutorial's "deep MNIST",
 * narrowed to keep the portable backends quick). Aims at 99.3%+ with augmentation.
 */
function buildCnn(seed: number): tf.Sequential {
  const init = () => tf.initializers.heNormal({ seed: seed++ });
  return tf.sequential({
    name: 'cnn',
    layers: [
      tf.layers.conv2d({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1], filters: 32, kernelSize: 5, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'conv1' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }),
      tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu', kernelInitializer: init(), name: 'conv2' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool2' }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ units: 256, activation: 'relu', kernelInitializer: init(), name: 'hidden' }),
      tf.layers.dropout({ rate: 0.3, seed: seed++, name: 'dropout' }),
      tf.layers.dense({ units: CLASSES, kernelInitializer: init(), name: 'logits' }),
      tf.layers.activation({ activation: 'softmax', name: 'probabilities' }),
    ],
  });
}

export const PRESETS: Record<PresetName, Preset> = {
  seed: {
    name: 'seed',
    title: 'Seed MLP (the tutorial)',
    summary: "The original tutorial's small network and recipe, unchanged: reaches about 98% after 50,000 small steps. A baseline to compare with.",
    description: "784-500-10, ReLU, SGD 0.1 decayed 0.99 per epoch, L2 1e-4, moving average 0.99: the seed's recipe exactly.",
    recipe: {
      defaultSteps: 50_000,
      batchSize: 200,
      optimizer: 'sgd',
      learningRate: 0.1,
      learningRateDecay: 0.99,
      l2: SEED_L2,
      movingAverageDecay: 0.99,
      augmentShift: 0,
    },
    build: buildSeed,
  },
  fast: {
    name: 'fast',
    title: 'Fast MLP (default)',
    summary: 'A small network that learns quickly: about 98% of test digits right after 3 of its 6 epochs (about 5 seconds on a 2-core laptop).',
    description: 'The seed network trained with Adam (batch 400) and a moving average: 98% test accuracy in 3 epochs.',
    recipe: {
      // Chosen by measurement (time to 98% test accuracy on the WASM backend, 3 seeds each):
      // batch 400 at 8e-3 reaches it in 3 epochs (13.3 s median); batch 100 at 1e-3 needed 6 (40 s).
      defaultEpochs: 6,
      batchSize: 400,
      optimizer: 'adam',
      learningRate: 8e-3,
      learningRateDecay: 0.8,
      l2: 0,
      movingAverageDecay: 0.99,
      augmentShift: 0,
    },
    build: buildFast,
  },
  cnn: {
    name: 'cnn',
    title: 'Convolutional network',
    summary: 'A larger network that looks at strokes and shapes: the most accurate (over 99%), but it takes minutes per epoch.',
    description: 'Two 5x5 convolution blocks and a 256-unit layer, Adam, small random shifts: 99.3%+ test accuracy.',
    recipe: {
      defaultEpochs: 8,
      batchSize: 100,
      optimizer: 'adam',
      learningRate: 1e-3,
      learningRateDecay: 0.75,
      l2: 0,
      movingAverageDecay: 0.999,
      augmentShift: 2,
    },
    build: buildCnn,
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
export const DEFAULT_PRESET: PresetName = 'fast';

export function isPresetName(value: string): value is PresetName {
  return (PRESET_NAMES as string[]).includes(value);
}

/** Builds a fresh, untrained model of a preset. Input [b, 28, 28, 1] in [0, 1]; output [b, 10] probabilities. */
export function createModel(preset: PresetName, seed = 1): tf.Sequential {
  return PRESETS[preset].build(seed);
}

/**
 * The same layers minus the final softmax: input [b, 28, 28, 1], output [b, 10] logits.
 * Shares weights with `model`.
 */
export function logitsOf(model: tf.LayersModel): tf.LayersModel {
  const last = model.layers[model.layers.length - 1];
  if (last.getClassName() !== 'Activation') return model;
  const beforeSoftmax = model.layers[model.layers.length - 2];
  return tf.model({ inputs: model.inputs, outputs: beforeSoftmax.output as tf.SymbolicTensor });
}

/** The kernels (not biases) of dense and conv layers, which L2 regularisation applies to. */
export function kernelsOf(model: tf.LayersModel): tf.LayerVariable[] {
  return model.trainableWeights.filter((w) => /kernel/.test(w.originalName));
}
