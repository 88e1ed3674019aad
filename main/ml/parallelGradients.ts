/**
 * Data-parallel gradients for the portable backends: every core computes the gradients of a
 * shard of each batch, with its own WebAssembly instance (tfjs's WASM backend runs one thread in
 * Node; see bench/wasmThreads.ts for why its own threads do not help).
 *
 * This thread computes shard 0 (and the L2 term) and `threads - 1` worker threads
 * (gradientWorker.ts) the others. They meet in SharedArrayBuffers: the batch, the current
 * weights (written here before each step) and one gradient slot per worker. The shards' gradients
 * are summed here in shard order, whatever order the workers finish in, so a run is
 * deterministic; the optimizer, the moving averages and checkpoints stay with the trainer, which
 * applies the sum exactly as it applies a local step's gradients.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BackendName } from './backend.ts';
import { PIXELS } from './dataset.ts';
import { gradientsOf, heapView, shardLosses, trainableVariables, type GradientStep } from './gradientStep.ts';
import { MlpKernel, kernelShard, mlpShapeOf } from './mlpKernel.ts';
import { kernelsOf, type PresetName, type TrainingRecipe } from './models.ts';

/**
 * The size of this thread's shard relative to a worker's. This thread also copies the weights
 * out, sums the gradients and (in the trainer) applies the update and the moving average, so it
 * takes fewer images where that serial work is large next to a shard's arithmetic. Measured with
 * `npm run bench -- --threads 2` (CPU time per step of each thread, 2 cores): the MLPs balance at
 * 0.5, the cnn (about 60x the arithmetic per image) near 0.9.
 */
const MAIN_SHARD_WEIGHT: Partial<Record<PresetName, number>> = { seed: 0.5, fast: 0.5, cnn: 0.9 };
const DEFAULT_MAIN_SHARD_WEIGHT = 0.75;
/**
 * The same through the fused MLP step (mlpKernel.ts), whose shards cost far less while the serial
 * work stays: measured the same way, the MLPs' main thread needed 7.2-8.4 ms a step at 0.5 against
 * its worker's 3.4-6.3 (load 9, `--threads 2 --steps 100`); at 0.25 fast balanced (6.1 / 6.7 ms),
 * seed still leaned on this thread (5.5 / 3.5), at 0.1 5.1 / 3.7.
 */
const FUSED_MAIN_SHARD_WEIGHT: Partial<Record<PresetName, number>> = { seed: 0.1, fast: 0.25 };

/** A trainable variable's place in the shared weight and gradient buffers (in floats). */
export interface VariableSlot {
  shape: number[];
  offset: number;
  size: number;
}

/** What a gradient worker is told once, at start. */
export interface WorkerInit {
  type: 'init';
  preset: PresetName;
  seed: number;
  backend: BackendName;
  batchSize: number;
  slots: VariableSlot[];
  /** Float32 [parameters]: the weights of the step about to be computed. */
  weights: SharedArrayBuffer;
  /** Float32 [parameters]: this worker's gradients. */
  gradients: SharedArrayBuffer;
  /** Float32 [batchSize * 784] and Int32 [batchSize]: the batch. */
  xs: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  /** Compute through the fused MLP step (the model is one it trains). */
  fusedMlp: boolean;
}

/** One step's shard for a worker: images [start, end) of a batch of `total`. */
export interface WorkerStep {
  type: 'step';
  start: number;
  end: number;
  total: number;
}

export type WorkerReply = { type: 'ready' } | { type: 'done'; loss: number } | { type: 'error'; message: string };

export interface ParallelOptions {
  preset: PresetName;
  seed: number;
  backend: BackendName;
  batchSize: number;
  /** Threads in all, this one included (>= 2). */
  threads: number;
  /** Use the fused MLP step (mlpKernel.ts) if the model is a dense ReLU MLP it trains. */
  fusedMlp?: boolean;
}

/**
 * Below this many images left to train on, `auto` trains on one thread: starting a worker (its
 * own tfjs and WebAssembly instance) takes about a second, several on a busy machine, which a
 * run this short (about 20 s on one core) does not win back by much.
 */
export const MIN_PARALLEL_SAMPLES = 200_000;
/**
 * The same for the fused MLP step (mlpKernel.ts): never (`auto` gives it one thread). Its steps
 * take 4-11 ms, and handing shards to a worker and waiting for it costs about as much as it saves
 * on these 2-vCPU machines even when quiet (load 1.5, `npm run bench -- --only seed,fast --threads
 * T --steps 150`, alternating: seed 35,467 / 36,141 samples/s on one thread, 27,798 / 29,490 on
 * two; fast 38,158 / 36,697 on one, 35,875 / 37,740 on two), and loses under load (load 6: the
 * default preset to 98% in 6.9 / 7.9 s on one thread, 11.1 / 12.3 s on two). `--threads N` still
 * spreads it.
 */
export const FUSED_MLP_MIN_PARALLEL_SAMPLES = Infinity;

/**
 * Threads worth using to train `samples` more images on `backend`: every core for the portable
 * backends; one for native TensorFlow, which spreads its own kernels over the cores; one for
 * short runs (below `minSamples`: MIN_PARALLEL_SAMPLES, or FUSED_MLP_MIN_PARALLEL_SAMPLES).
 */
export function defaultTrainingThreads(backend: BackendName | undefined, samples = Infinity, minSamples = MIN_PARALLEL_SAMPLES): number {
  if (backend === 'native' || samples < minSamples) return 1;
  return Math.max(1, os.availableParallelism());
}

/**
 * Images [start, end) of shard `index` when `total` images are cut into `shards` contiguous
 * parts, shard 0 weighing `firstWeight` and every other shard 1 (shard 0 is this thread's, which
 * also does the step's serial work).
 */
export function shardRange(index: number, shards: number, total: number, firstWeight = 1): [number, number] {
  const weightTotal = firstWeight + shards - 1;
  const edge = (i: number) => (i === 0 ? 0 : i === shards ? total : Math.round(((firstWeight + i - 1) * total) / weightTotal));
  return [edge(index), edge(index + 1)];
}

/** The worker's entry: its compiled file beside this bundle, or in the source tree a tsx bootstrap. */
function workerEntry(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./gradientWorker.mjs', import.meta.url) : new URL('./gradientWorker.js', import.meta.url);
}

class GradientWorker {
  private readonly worker: Worker;
  private pending: { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(init: WorkerInit) {
    // execArgv: [] so that a parent's loader flags (vitest, tsx) do not leak in; the entry brings its own.
    this.worker = new Worker(workerEntry(), { execArgv: [] });
    this.worker.on('message', (reply: WorkerReply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`a gradient worker exited (code ${code})`)));
    this.worker.postMessage(init);
  }

  /** The next reply; an 'error' reply or a dead worker rejects. */
  next(): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  send(message: WorkerStep): void {
    this.worker.postMessage(message);
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('gradient worker terminated');
    await this.worker.terminate();
  }

  private settle(reply: WorkerReply): void {
    const pending = this.pending;
    this.pending = null;
    if (reply.type === 'error') this.fail(new Error(`gradient worker: ${reply.message}`), pending);
    else pending?.resolve(reply);
  }

  private fail(error: Error, pending = this.pending): void {
    this.failure ??= error;
    this.pending = null;
    pending?.reject(this.failure);
  }
}

/**
 * Starts `threads - 1` gradient workers holding `model`'s architecture and resolves once they are
 * ready. `model` is the trainer's (this thread computes shard 0 with it).
 */
export async function parallelGradientStep(model: tf.LayersModel, recipe: TrainingRecipe, options: ParallelOptions): Promise<GradientStep> {
  const { batchSize, threads } = options;
  const variables = trainableVariables(model);
  let parameters = 0;
  const slots: VariableSlot[] = variables.map((v) => {
    const slot = { shape: v.shape, offset: parameters, size: v.size };
    parameters += v.size;
    return slot;
  });
  const bytes = Float32Array.BYTES_PER_ELEMENT;
  const weightsBuffer = new SharedArrayBuffer(parameters * bytes);
  const xsBuffer = new SharedArrayBuffer(batchSize * PIXELS * bytes);
  const labelsBuffer = new SharedArrayBuffer(batchSize * Int32Array.BYTES_PER_ELEMENT);
  const weights = new Float32Array(weightsBuffer);
  const xs = new Float32Array(xsBuffer);
  const labels = new Int32Array(labelsBuffer);
  const gradientSlots: Float32Array[] = [];
  const workers: GradientWorker[] = [];
  // The fused MLP step (mlpKernel.ts) here and in every worker, when the model is one it trains.
  const shape = options.fusedMlp ? mlpShapeOf(model) : null;
  const kernel = shape ? new MlpKernel(shape, batchSize) : null;
  try {
    for (let w = 1; w < threads; w++) {
      const gradients = new SharedArrayBuffer(parameters * bytes);
      gradientSlots.push(new Float32Array(gradients));
      const { preset, seed, backend } = options;
      const fusedMlp = kernel !== null;
      workers.push(new GradientWorker({ type: 'init', preset, seed, backend, batchSize, slots, weights: weightsBuffer, gradients, xs: xsBuffer, labels: labelsBuffer, fusedMlp }));
    }
    await Promise.all(workers.map((w) => w.next()));
  } catch (error) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  }
  const lossOf = shardLosses(model, recipe, xs, labels);
  // The L2 term is added here, from the weights just shared, rather than differentiated by tfjs:
  // its gradient is l2 * w, one pass over the kernels folded into the sum of the shards.
  const mainWeight = (kernel ? FUSED_MAIN_SHARD_WEIGHT[options.preset] : undefined) ?? MAIN_SHARD_WEIGHT[options.preset] ?? DEFAULT_MAIN_SHARD_WEIGHT;
  const kernelNames = new Set(kernelsOf(model).map((k) => (k.read() as tf.Variable).name));
  const decay = recipe.l2;

  /** One step's loss and gradients: as tensors, or `asValues` as arrays (no gradient tensors). */
  const run = async (count: number, asValues: boolean) => {
    variables.forEach((v, i) => weights.set(heapView(v) ?? (v.dataSync() as Float32Array), slots[i].offset));
    const shards = Math.min(threads, count);
    const replies = workers.slice(0, shards - 1).map((worker, w) => {
      const [start, end] = shardRange(w + 1, shards, count, mainWeight);
      const reply = worker.next();
      worker.send({ type: 'step', start, end, total: count });
      return reply;
    });
    const [start, end] = shardRange(0, shards, count, mainWeight);
    const ownShard = { start, end, total: count, withPenalty: false };
    const kernelLoss = kernel ? kernelShard(kernel, weights, slots, xs, labels, ownShard) : null;
    const own = kernelLoss === null ? gradientsOf(lossOf(ownShard), variables) : null;
    // Wait for every worker even if one failed, so none is still writing when the step is abandoned.
    const settled = await Promise.allSettled(replies);
    let loss = own ? own.loss : kernelLoss!;
    let penalty = 0;
    const gradients: tf.NamedTensorMap = {};
    try {
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      // Fixed order (shard 0, 1, 2, ..., then the L2 term): the same sum whichever worker finished first.
      for (const reply of settled) loss += ((reply as PromiseFulfilledResult<WorkerReply>).value as { loss: number }).loss;
      const sums = variables.map((v, i) => {
        const ownGradient = own?.gradients[v.name];
        // Our own gradient tensor, summed into in place where the backend allows and no other
        // tensor shares its data (tfjs shares data between a tensor and its reshapes/identities);
        // the fused kernel's gradients are summed in its memory and copied into a tensor after.
        const inPlace = ownGradient && tf.backend().refCount(ownGradient.dataId) === 1 ? heapView(ownGradient) : null;
        const sum = ownGradient ? (inPlace ?? (ownGradient.dataSync() as Float32Array)) : kernel!.gradients[i];
        const { offset, size } = slots[i];
        for (let w = 0; w < shards - 1; w++) {
          const part = gradientSlots[w];
          for (let j = 0; j < size; j++) sum[j] += part[offset + j];
        }
        if (own && decay > 0 && kernelNames.has(v.name)) {
          let squares = 0;
          for (let j = 0; j < size; j++) {
            const value = weights[offset + j];
            squares += value * value;
            sum[j] += decay * value;
          }
          penalty += (decay / 2) * squares;
        }
        return { sum, inPlace };
      });
      // The kernel holds this step's weights: it adds the L2 term in one f32x4 pass.
      if (!own) penalty = kernel!.addPenalty(decay);
      if (asValues) {
        // The fused kernel's sums are its own memory (valid until the next step); tfjs's are copied.
        const values = sums.map(({ sum }) => (own ? sum.slice() : sum));
        if (own) tf.dispose(own.gradients);
        return { loss: loss + penalty, gradients, values };
      }
      variables.forEach((v, i) => {
        const { sum, inPlace } = sums[i];
        const ownGradient = own?.gradients[v.name];
        if (!ownGradient) gradients[v.name] = tf.tensor(tf.getBackend() === 'wasm' ? sum : sum.slice(), v.shape, 'float32');
        else gradients[v.name] = inPlace ? ownGradient : tf.tensor(sum, v.shape, 'float32');
        if (ownGradient && !inPlace) ownGradient.dispose();
      });
    } catch (error) {
      if (own) tf.dispose(own.gradients);
      tf.dispose(gradients);
      throw error;
    }
    return { loss: loss + penalty, gradients, values: [] as Float32Array[] };
  };

  return {
    xs,
    labels,
    threads,
    compute: async (count) => {
      const { loss, gradients } = await run(count, false);
      return { loss, gradients };
    },
    ...(kernel
      ? {
          computeValues: async (count: number) => {
            const { loss, values } = await run(count, true);
            return { loss, values };
          },
        }
      : {}),
    dispose: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
