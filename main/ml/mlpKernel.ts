/**
 * The fused MLP training step: loss and gradients of a dense ReLU network
 * (784 -> hidden, ReLU -> 10 logits, softmax cross-entropy; the `seed` and `fast` presets) in one
 * call into a small WebAssembly SIMD module of our own (assembly/mlpStep.ts), instead of about
 * twenty tfjs ops. It skips the zero pixels of each image (MNIST's are about 80% zeros) in both
 * big products of the first layer, and has none of tfjs's per-op overhead.
 *
 * Results equal tfjs's up to float rounding (mlpKernel.test.ts checks loss and every gradient
 * against `localGradientStep`). Other architectures, and native TensorFlow (which already runs
 * fast kernels on every core), keep the tfjs path.
 */
import * as tf from '@tensorflow/tfjs';
import { CLASSES, PIXELS } from './dataset.ts';
import { gradientValues, gradientsOf, heapView, shardLosses, trainableVariables, type GradientStep, type ShardLoss } from './gradientStep.ts';
import type { TrainingRecipe } from './models.ts';
import { MLP_STEP_WASM } from './mlpStepWasm.ts';

/** The layer sizes of a model the kernel can train. */
export interface MlpShape {
  inputs: number;
  hidden: number;
}

/** The little of the WebAssembly API used here (our `lib` setting has no WebAssembly types). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
};

interface MlpStepExports {
  memory: { buffer: ArrayBuffer };
  layout(inputs: number, hidden: number, batch: number): number;
  weightsW1(): number;
  weightsB1(): number;
  weightsW2(): number;
  weightsB2(): number;
  gradientW1(): number;
  gradientB1(): number;
  gradientW2(): number;
  gradientB2(): number;
  inputX(): number;
  inputLabels(): number;
  gradients(start: number, end: number, total: number): number;
  addPenalty(l2: number): number;
  nonzeroPixels(start: number, end: number): number;
  reserve(bytes: number): number;
  sgdStep(w: number, g: number, count: number, rate: number): void;
  adamStep(w: number, g: number, m: number, v: number, count: number, rate: number, b1: number, b2: number, c1: number, c2: number, epsilon: number): void;
  averageStep(a: number, w: number, count: number, decay: number): void;
}

/**
 * Above this share of nonzero pixels a batch goes through tfjs's dense kernels instead: measured
 * (CPU ms a gradient step, fast preset, batch 400, random pixel patterns, `npx tsx
 * bench/mlpCrossover.ts`, twice at load 2.4) the kernel wins up to about 70% nonzero (10 vs 30-33
 * ms at 20%, 22-23 vs 30-32 at 50%, 25-27 vs 29-35 at 60%, 29-32 vs 28-34 at 70%) and loses above
 * (34 vs 30-34 at 80%, 40 vs 30-31 fully dense). MNIST digits are about 19% nonzero.
 */
export const DENSE_CROSSOVER = 0.65;

let compiled: object | null = null;

function instantiate(): MlpStepExports {
  compiled ??= new WebAssembly.Module(Buffer.from(MLP_STEP_WASM, 'base64'));
  return new WebAssembly.Instance(compiled).exports as unknown as MlpStepExports;
}

/** One instance of the module, laid out for batches of up to `batchSize` images. */
export class MlpKernel {
  /** The batch: xs [batchSize, inputs] and labels [batchSize], in the module's memory. */
  readonly xs: Float32Array;
  readonly labels: Int32Array;
  /** W1 [inputs, hidden], b1 [hidden], W2 [hidden, 10], b2 [10]: the weights a step uses. */
  readonly weights: Float32Array[];
  /** Their gradients, same shapes, written by `compute`. */
  readonly gradients: Float32Array[];
  private readonly exports: MlpStepExports;

  constructor(
    readonly shape: MlpShape,
    readonly batchSize: number,
  ) {
    this.exports = instantiate();
    const { inputs, hidden } = shape;
    const e = this.exports;
    if (e.layout(inputs, hidden, batchSize) !== 0) throw new Error(`the MLP kernel cannot lay out ${inputs}-${hidden}-${CLASSES} for batches of ${batchSize}`);
    // The memory does not grow after layout, so these views stay valid.
    const floats = (at: number, size: number) => new Float32Array(e.memory.buffer, at, size);
    const sizes = [inputs * hidden, hidden, hidden * CLASSES, CLASSES];
    this.weights = [e.weightsW1(), e.weightsB1(), e.weightsW2(), e.weightsB2()].map((at, i) => floats(at, sizes[i]));
    this.gradients = [e.gradientW1(), e.gradientB1(), e.gradientW2(), e.gradientB2()].map((at, i) => floats(at, sizes[i]));
    this.xs = floats(e.inputX(), batchSize * inputs);
    this.labels = new Int32Array(e.memory.buffer, e.inputLabels(), batchSize);
  }

  /**
   * Loss and gradients (into `gradients`) of images [start, end) of the batch as one shard of a
   * batch of `total`: mean cross-entropy over `total` times its share; no L2 term.
   */
  compute(start: number, end: number, total: number): number {
    return this.exports.gradients(start, end, total);
  }

  /** The share of pixels of images [start, end) that are not 0. */
  density(start: number, end: number): number {
    return end > start ? this.exports.nonzeroPixels(start, end) / ((end - start) * this.shape.inputs) : 0;
  }

  /** Adds l2 * sum(w^2) / 2 over both kernels to the gradients (l2 * w); returns the term. */
  addPenalty(l2: number): number {
    return l2 > 0 ? this.exports.addPenalty(l2) : 0;
  }
}

/**
 * Float arrays in a module instance of their own, and the update arithmetic of
 * fusedOptimizer.ts on them (SGD, Adam, moving average; f32x4).
 */
export class UpdateKernel {
  private readonly exports = instantiate();

  /** A new zeroed array of `size` floats in this instance's memory: its address. */
  reserve(size: number): number {
    const at = this.exports.reserve(size * Float32Array.BYTES_PER_ELEMENT);
    if (at === 0) throw new Error(`out of memory for ${size} optimizer floats`);
    return at;
  }

  /** A view of `size` floats at `at` (take it after the last `reserve`: memory may have grown). */
  view(at: number, size: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, at, size);
  }

  sgd(w: number, g: number, size: number, rate: number): void {
    this.exports.sgdStep(w, g, size, rate);
  }

  adam(w: number, g: number, m: number, v: number, size: number, rate: number, b1: number, b2: number, c1: number, c2: number, epsilon: number): void {
    this.exports.adamStep(w, g, m, v, size, rate, b1, b2, c1, c2, epsilon);
  }

  average(a: number, w: number, size: number, decay: number): void {
    this.exports.averageStep(a, w, size, decay);
  }
}

/**
 * The sizes of `model` if the kernel can train it: flatten of 784 pixels, a dense ReLU layer with
 * bias (hidden a multiple of 4), a dense linear layer of 10 with bias, softmax. Otherwise null.
 */
export function mlpShapeOf(model: tf.LayersModel): MlpShape | null {
  const layers = model.layers;
  if (layers.length !== 4) return null;
  const [flatten, hiddenLayer, logitsLayer, softmax] = layers;
  const config = (layer: tf.layers.Layer) => layer.getConfig() as Record<string, unknown>;
  const dense = (layer: tf.layers.Layer, activation: string) =>
    layer.getClassName() === 'Dense' && config(layer).activation === activation && config(layer).useBias === true && layer.trainable;
  if (flatten.getClassName() !== 'Flatten' || !dense(hiddenLayer, 'relu') || !dense(logitsLayer, 'linear')) return null;
  if (softmax.getClassName() !== 'Activation' || config(softmax).activation !== 'softmax') return null;
  const hidden = config(hiddenLayer).units as number;
  const shapes = model.trainableWeights.map((w) => w.shape.join('x'));
  const expected = [`${PIXELS}x${hidden}`, `${hidden}`, `${hidden}x${CLASSES}`, `${CLASSES}`];
  if (hidden % 4 !== 0 || shapes.join() !== expected.join()) return null;
  return { inputs: PIXELS, hidden };
}

/** Copies the variables' current values into `into` (in place on WASM, no tensor made). */
export function readWeights(variables: tf.Variable[], into: Float32Array[]): void {
  variables.forEach((v, i) => into[i].set(heapView(v) ?? (v.dataSync() as Float32Array)));
}

/**
 * One shard of a data-parallel step through `kernel`: copies the weights (flat, in `slots`) and
 * the shard's images into the kernel and computes; the gradients are then in
 * `kernel.gradients`. Returns the shard's loss, or null (nothing computed) when its images are
 * not sparse enough for the kernel: the caller takes tfjs's dense path then.
 */
export function kernelShard(
  kernel: MlpKernel,
  weights: Float32Array,
  slots: { offset: number; size: number }[],
  xs: Float32Array,
  labels: Int32Array,
  shard: ShardLoss,
): number | null {
  const { start, end, total } = shard;
  kernel.xs.set(xs.subarray(start * kernel.shape.inputs, end * kernel.shape.inputs), start * kernel.shape.inputs);
  if (kernel.density(start, end) > DENSE_CROSSOVER) return null;
  kernel.labels.set(labels.subarray(start, end), start);
  slots.forEach(({ offset, size }, i) => kernel.weights[i].set(weights.subarray(offset, offset + size)));
  return kernel.compute(start, end, total);
}

/** Gradient tensors (copies) keyed by the variables' names. */
export function gradientTensors(variables: tf.Variable[], gradients: Float32Array[]): tf.NamedTensorMap {
  const named: tf.NamedTensorMap = {};
  // The WASM backend copies the values into its memory; the cpu backend would keep the array itself.
  const copy = tf.getBackend() !== 'wasm';
  variables.forEach((v, i) => (named[v.name] = tf.tensor(copy ? gradients[i].slice() : gradients[i], v.shape, 'float32')));
  return named;
}

/**
 * The whole batch on this thread through the fused kernel (tfjs's dense path for a batch that is
 * not sparse), or null when `model` is not an MLP it can train (use `localGradientStep` then).
 */
export function mlpGradientStep(model: tf.LayersModel, recipe: TrainingRecipe, batchSize: number): GradientStep | null {
  const shape = mlpShapeOf(model);
  if (!shape) return null;
  const kernel = new MlpKernel(shape, batchSize);
  const variables = trainableVariables(model);
  const denseLoss = shardLosses(model, recipe, kernel.xs, kernel.labels);
  const dense = (count: number) => gradientsOf(denseLoss({ start: 0, end: count, total: count, withPenalty: true }), variables);
  const fused = (count: number) => {
    readWeights(variables, kernel.weights);
    return kernel.compute(0, count, count) + kernel.addPenalty(recipe.l2);
  };
  return {
    xs: kernel.xs,
    labels: kernel.labels,
    threads: 1,
    compute: (count) => {
      if (kernel.density(0, count) > DENSE_CROSSOVER) return Promise.resolve(dense(count));
      const loss = fused(count);
      return Promise.resolve({ loss, gradients: gradientTensors(variables, kernel.gradients) });
    },
    computeValues: (count) => {
      if (kernel.density(0, count) > DENSE_CROSSOVER) {
        const { loss, gradients } = dense(count);
        return Promise.resolve({ loss, values: gradientValues(gradients, variables) });
      }
      return Promise.resolve({ loss: fused(count), values: kernel.gradients });
    },
    dispose: () => Promise.resolve(),
  };
}
