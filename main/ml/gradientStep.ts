/**
 * How a training step gets its gradients: the seam between the training loop (trainer.ts, which
 * owns the model, the optimizer, the moving averages, checkpoints, pausing and stopping) and the
 * way the arithmetic is spread over the machine's cores.
 *
 * - `localGradientStep`: the whole batch on this thread (native TensorFlow already uses every
 *   core; and the reference the parallel step is tested against).
 * - `parallelGradientStep` (parallelGradients.ts): the batch cut into shards, one per
 *   worker thread with its own WebAssembly instance, gradients summed in a fixed order.
 *
 * Both compute the same thing: the gradient of mean cross-entropy over the batch (+ the L2 term),
 * so a step's update does not depend on the strategy beyond float rounding.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { CLASSES, IMAGE_SIZE, PIXELS } from './dataset.ts';
import { kernelsOf, logitsOf, type TrainingRecipe } from './models.ts';

export interface GradientStep {
  /** The batch to fill before `compute`: xs [batchSize, 28, 28, 1] in [0, 1], labels [batchSize]. */
  readonly xs: Float32Array;
  readonly labels: Int32Array;
  /** Threads computing gradients (1 for the local step). */
  readonly threads: number;
  /**
   * Loss and gradients (by variable name, shapes of the trainable variables) of the batch's first
   * `count` images at the model's current weights. The caller disposes the gradients.
   */
  compute(count: number): Promise<{ loss: number; gradients: tf.NamedTensorMap }>;
  /**
   * The same, the gradients as float arrays in trainable-variable order (valid until the next
   * call), for an optimizer working on arrays (fusedOptimizer.ts): no gradient tensors made.
   * Offered by the fused MLP steps.
   */
  computeValues?(count: number): Promise<{ loss: number; values: Float32Array[] }>;
  /** Ends any worker threads. */
  dispose(): Promise<void>;
}

/** One shard's part of the batch loss, so that the shards' sum is the batch's loss. */
export interface ShardLoss {
  /** Images [start, end) of the batch. */
  start: number;
  end: number;
  /** Images in the whole batch (the cross-entropy is a mean over these). */
  total: number;
  /** Whether this shard carries the L2 term (exactly one shard does). */
  withPenalty: boolean;
}

/**
 * Builds shard losses for `model` over a batch held in host arrays (xs [batch, 28, 28, 1],
 * labels [batch]). A shard's loss is its mean cross-entropy times its share of the batch, plus
 * the L2 term when `withPenalty`; summed over the shards it is the batch's loss.
 */
export function shardLosses(
  model: tf.LayersModel,
  recipe: TrainingRecipe,
  xs: Float32Array,
  labels: Int32Array,
): (shard: ShardLoss) => () => tf.Scalar {
  const logits = logitsOf(model);
  const kernels = kernelsOf(model).map((w) => w.read());
  return (shard) => () => {
    const count = shard.end - shard.start;
    const x = tf.tensor4d(xs.subarray(shard.start * PIXELS, shard.end * PIXELS), [count, IMAGE_SIZE, IMAGE_SIZE, 1]);
    const y = tf.oneHot(tf.tensor1d(labels.subarray(shard.start, shard.end), 'int32'), CLASSES);
    const out = logits.apply(x, { training: true }) as tf.Tensor;
    let loss = tf.losses.softmaxCrossEntropy(y, out) as tf.Scalar;
    if (count !== shard.total) loss = loss.mul(count / shard.total);
    if (!shard.withPenalty || recipe.l2 === 0) return loss;
    const penalty = tf.addN(kernels.map((k) => tf.sum(tf.square(k)))).mul(recipe.l2 / 2);
    return loss.add(penalty);
  };
}

/**
 * A float32 tensor's data in place, when the backend keeps it in WebAssembly memory (no copy; a
 * tensor this code owns may be written through it). Null on other backends. Take it after the
 * last allocation: a growing heap invalidates it.
 */
export function heapView(tensor: tf.Tensor): Float32Array | null {
  if (tf.getBackend() !== 'wasm' || tensor.dtype !== 'float32') return null;
  return (tf.backend() as BackendWasm).typedArrayFromHeap(tensor) as Float32Array;
}

/** A gradient map as float arrays in `variables`' order (copies); disposes the tensors. */
export function gradientValues(gradients: tf.NamedTensorMap, variables: tf.Variable[]): Float32Array[] {
  const values = variables.map((v) => (gradients[v.name].dataSync() as Float32Array).slice());
  tf.dispose(gradients);
  return values;
}

/** Trainable variables of `model`, in the order `model.trainableWeights` lists them. */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Gradients of `lossFunction` with respect to `variables`, keyed by variable name, and the loss.
 * The returned tensors are the caller's to dispose; everything else is released.
 */
export function gradientsOf(lossFunction: () => tf.Scalar, variables: tf.Variable[]): { loss: number; gradients: tf.NamedTensorMap } {
  const { value, grads } = tf.tidy(() => tf.variableGrads(lossFunction, variables));
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, gradients: grads };
}

/** The whole batch on this thread. */
export function localGradientStep(model: tf.LayersModel, recipe: TrainingRecipe, batchSize: number): GradientStep {
  const xs = new Float32Array(batchSize * PIXELS);
  const labels = new Int32Array(batchSize);
  const variables = trainableVariables(model);
  const lossOf = shardLosses(model, recipe, xs, labels);
  return {
    xs,
    labels,
    threads: 1,
    compute: (count) => Promise.resolve(gradientsOf(lossOf({ start: 0, end: count, total: count, withPenalty: true }), variables)),
    dispose: () => Promise.resolve(),
  };
}
