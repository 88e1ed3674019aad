/**
 * The training loop: the seed's recipe (mini-batch SGD with staircase decay, L2, moving average
 * of the weights evaluated instead of the raw ones) generalised over presets, with progress
 * events, cancellation, pausing and checkpoints that a rerun resumes from.
 *
 * Batches are built from the byte images in host memory each step (cheaper on the WASM backend
 * than slicing one big tensor), in an order fixed by the run's seed and the epoch number, so a
 * resumed run sees exactly the batches the uninterrupted run would have (batches.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, saveCheckpoint, type RunSettings } from './checkpoint.ts';
import { PIXELS, type ImageSet, type MnistSplits } from './dataset.ts';
import { evaluateModel } from './evaluate.ts';
import { localGradientStep, type GradientStep } from './gradientStep.ts';
import { PRESETS, createModel, type PresetName, type TrainingRecipe } from './models.ts';
import { FusedOptimizer } from './fusedOptimizer.ts';
import { mlpGradientStep, mlpShapeOf } from './mlpKernel.ts';
import { FUSED_MLP_MIN_PARALLEL_SAMPLES, MIN_PARALLEL_SAMPLES, defaultTrainingThreads, parallelGradientStep } from './parallelGradients.ts';
import { seededRandom } from './random.ts';
import { epochOrder, fillBatch } from './batches.ts';
import { learningRateAt, movingAverageDecayAt } from './schedule.ts';
import type { BackendName, TrainingEvent } from './types.ts';

export interface TrainingOptions {
  preset: PresetName;
  /** The run folder: checkpoints live in `<runDir>/checkpoints` (checkpoint.ts); a rerun resumes from there. */
  runDir: string;
  /** Total steps of the run (wins over epochs). */
  steps?: number;
  /** Total epochs of the run, when steps is not given. */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Train on the first N training images only. */
  limit?: number;
  /** Steps between checkpoints (one is always written at the end and on cancellation). */
  checkpointEvery?: number;
  /** Evaluate on the validation set at each epoch end (default true). */
  validate?: boolean;
  seed?: number;
  /**
   * Weights to start from instead of a fresh initialisation (fine-tuning), in `model.getWeights()`
   * order of the same preset. Ignored when the run folder holds a checkpoint to resume.
   */
  initialWeights?: tf.Tensor[];
  /** Labelled pictures never trained on, evaluated beside validation at each epoch end. */
  heldOutImages?: ImageSet;
  /**
   * Threads computing each step's gradients (data parallelism, parallelGradients.ts; default 1);
   * 'auto': `defaultTrainingThreads` for the backend and the run's remaining length. The result
   * equals one thread's up to float rounding.
   */
  threads?: number | 'auto';
  /**
   * On the portable backends, dense ReLU MLPs (seed, fast) get their gradients from the fused
   * WebAssembly step (mlpKernel.ts) and every preset's optimizer update and moving average run as
   * single passes (fusedOptimizer.ts). Default true; false keeps tfjs's ops (to compare: the
   * results agree up to float rounding, and checkpoints resume either way).
   */
  fused?: boolean;
}

export type { TrainingEvent };

export interface TrainingHooks {
  onEvent?: (event: TrainingEvent) => void;
  /** Aborting stops after the current step, writes a checkpoint and resolves with `stopped: true`. */
  signal?: AbortSignal;
  /** Awaited between steps; a paused run returns a promise that resolves on resume. */
  beforeStep?: () => Promise<void> | void;
  /** Called at each epoch end with the model holding its averaged weights (e.g. to test it). */
  onEpochEnd?: (epoch: number, model: tf.LayersModel) => Promise<void> | void;
}

export interface TrainingResult {
  /** The trained model, holding the moving-average weights (what gets evaluated and exported). */
  model: tf.Sequential;
  step: number;
  totalSteps: number;
  stopped: boolean;
  settings: RunSettings;
}

export const DEFAULT_CHECKPOINT_EVERY = 1000;
const SPEED_WINDOW = 20;
const YIELD_EVERY_MS = 50;

type TrainingOptimizer = tf.SGDOptimizer | tf.AdamOptimizer | FusedOptimizer;

function makeOptimizer(recipe: TrainingRecipe, learningRate: number, fused: boolean): TrainingOptimizer {
  if (fused) return new FusedOptimizer(recipe.optimizer, learningRate);
  return recipe.optimizer === 'sgd' ? tf.train.sgd(learningRate) : tf.train.adam(learningRate);
}

function setLearningRate(optimizer: TrainingOptimizer, value: number): void {
  // SGD keeps its rate in a scalar tensor that setLearningRate replaces; Adam reads the plain
  // `learningRate` field on every step.
  if ('setLearningRate' in optimizer) optimizer.setLearningRate(value);
  else (optimizer as unknown as { learningRate: number }).learningRate = value;
}

/** Runs `fn` with the model's trainable weights swapped for their moving averages. */
export async function withAveragedWeights<T>(
  model: tf.LayersModel,
  averages: tf.Variable[],
  fn: () => Promise<T> | T,
): Promise<T> {
  if (averages.length === 0) return fn();
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const saved = variables.map((v) => tf.clone(v));
  variables.forEach((v, i) => v.assign(averages[i]));
  try {
    return await fn();
  } finally {
    variables.forEach((v, i) => v.assign(saved[i]));
    tf.dispose(saved);
  }
}

function resolveSettings(options: TrainingOptions, trainCount: number): RunSettings {
  const recipe = PRESETS[options.preset].recipe;
  const batchSize = options.batchSize ?? recipe.batchSize;
  const stepsPerEpoch = Math.ceil(trainCount / batchSize);
  const totalSteps =
    options.steps ??
    (options.epochs !== undefined
      ? options.epochs * stepsPerEpoch
      : (recipe.defaultSteps ?? (recipe.defaultEpochs ?? 1) * stepsPerEpoch));
  return {
    preset: options.preset,
    totalSteps,
    batchSize,
    learningRate: options.learningRate ?? recipe.learningRate,
    trainCount,
    seed: options.seed ?? 1,
  };
}

function setInitialWeights(model: tf.LayersModel, weights: tf.Tensor[]): void {
  const expected = model.weights.map((w) => w.shape.join('x'));
  const same = expected.length === weights.length && expected.every((shape, i) => shape === weights[i].shape.join('x'));
  if (!same) throw new Error('the starting model does not have the layers of this preset (its weights have other shapes)');
  model.setWeights(weights);
}

/** A rerun asked for something a resumed run cannot honour. */
export class ResumeError extends Error {
  override name = 'ResumeError';
}

/**
 * The options a resumed run continues with: its saved settings, with the total changed only when
 * asked. A different preset, batch size, learning rate, seed or number of training images is
 * refused (the run would silently become something else), and so is a total below the saved
 * step; what does happen is said in `notices`. `available` is the number of training images.
 */
export function resumeOptions(
  saved: { step: number; settings: RunSettings },
  options: TrainingOptions,
  available: number,
): { options: TrainingOptions; notices: string[] } {
  const { step, settings: had } = saved;
  const asked: [string, number | string, number | string | undefined][] = [
    ['preset', had.preset, options.preset],
    ['batch size', had.batchSize, options.batchSize],
    ['learning rate', had.learningRate, options.learningRate],
    ['seed', had.seed, options.seed],
    ['training images', had.trainCount, options.limit === undefined ? undefined : Math.min(options.limit, available)],
  ];
  // A smaller data set than the run was started on cannot give it the same batches.
  if (options.limit === undefined && available < had.trainCount) asked.push(['training images', had.trainCount, `${available}, all there are`]);
  const conflicts = asked.filter(([, saved, wanted]) => wanted !== undefined && wanted !== saved);
  if (conflicts.length > 0) {
    const what = conflicts.map(([name, saved, wanted]) => `${name} ${saved} (asked for ${wanted})`).join(', ');
    throw new ResumeError(
      `${options.runDir} holds a run at step ${step} with ${what}; a resumed run keeps its settings. ` +
        'Leave them out to continue it, or train into another run folder.',
    );
  }
  const stepsPerEpoch = Math.ceil(had.trainCount / had.batchSize);
  const wanted = options.steps ?? (options.epochs !== undefined ? options.epochs * stepsPerEpoch : undefined);
  const notices: string[] = [];
  let totalSteps = had.totalSteps;
  if (wanted !== undefined && wanted !== had.totalSteps) {
    if (wanted < step) {
      throw new ResumeError(
        `${options.runDir} is already at step ${step}; a total of ${wanted} steps would undo training. ` +
          `Ask for more than ${step} steps to train further, or train into another run folder.`,
      );
    }
    notices.push(`The run's total changes from ${had.totalSteps} to ${wanted} steps, as asked.`);
    totalSteps = wanted;
  }
  if (step >= totalSteps) notices.push(`The run is already complete (step ${step} of ${totalSteps}): nothing left to train.`);
  return {
    options: { ...options, batchSize: had.batchSize, learningRate: had.learningRate, seed: had.seed, limit: had.trainCount, steps: totalSteps, epochs: undefined },
    notices,
  };
}

/** tfjs's name of the active backend, in ours. */
function activeBackend(): BackendName {
  const name = tf.getBackend();
  return name === 'tensorflow' ? 'native' : name === 'wasm' ? 'wasm' : 'cpu';
}

/** The whole batch here (one thread), or shards over several threads. */
async function openGradientStep(
  model: tf.LayersModel,
  recipe: TrainingRecipe,
  settings: RunSettings,
  firstStep: number,
  wanted: number | 'auto',
  fused: boolean,
): Promise<GradientStep> {
  const { preset, seed, batchSize } = settings;
  const backend = activeBackend();
  const fusedMlp = fused && mlpShapeOf(model) !== null;
  const minSamples = fusedMlp ? FUSED_MLP_MIN_PARALLEL_SAMPLES : MIN_PARALLEL_SAMPLES;
  const threads = wanted === 'auto' ? defaultTrainingThreads(backend, (settings.totalSteps - firstStep) * batchSize, minSamples) : wanted;
  if (threads <= 1) return (fused ? mlpGradientStep(model, recipe, batchSize) : null) ?? localGradientStep(model, recipe, batchSize);
  return parallelGradientStep(model, recipe, { preset, seed, batchSize, threads, backend, fusedMlp: fused });
}

/**
 * Trains (or resumes) a run. `data.train` (optionally limited) is trained on; `data.validation`
 * is evaluated with the averaged weights at every epoch end.
 */
export async function trainModel(data: MnistSplits, options: TrainingOptions, hooks: TrainingHooks = {}): Promise<TrainingResult> {
  const opened: GradientStep[] = [];
  try {
    return await runTraining(data, options, hooks, opened);
  } finally {
    // Worker threads end however the run ends (finished, stopped, failed).
    await Promise.all(opened.map((g) => g.dispose()));
  }
}

async function runTraining(data: MnistSplits, requested: TrainingOptions, hooks: TrainingHooks, opened: GradientStep[]): Promise<TrainingResult> {
  const saved = await loadCheckpoint(requested.runDir);
  let resumed: ReturnType<typeof resumeOptions> | null = null;
  try {
    resumed = saved && resumeOptions(saved, requested, data.train.count);
  } finally {
    if (saved && !resumed) tf.dispose([...saved.weights, ...saved.averages, ...saved.optimizer.map((n) => n.tensor)]);
  }
  const options = resumed?.options ?? requested;
  const notices = saved ? [...saved.notes, ...resumed!.notices] : [];
  const recipe = PRESETS[options.preset].recipe;
  const train: ImageSet =
    options.limit !== undefined && options.limit < data.train.count
      ? { images: data.train.images.subarray(0, options.limit * PIXELS), labels: data.train.labels.subarray(0, options.limit), count: options.limit }
      : data.train;
  if (train.count === 0) throw new Error('no training images (limit is 0 or the data set is empty)');
  let settings = resolveSettings(options, train.count);
  const { batchSize } = settings;
  const stepsPerEpoch = Math.ceil(train.count / batchSize);
  const checkpointEvery = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  const emit = hooks.onEvent ?? (() => {});

  const model = createModel(options.preset, settings.seed);
  if (options.initialWeights) setInitialWeights(model, options.initialWeights);
  // The fused steps (mlpKernel.ts, fusedOptimizer.ts) are for the portable backends: native
  // TensorFlow's kernels already run on every core, with little per-op overhead.
  const fused = (options.fused ?? true) && activeBackend() !== 'native';
  const optimizer = makeOptimizer(recipe, settings.learningRate, fused);
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const averages = recipe.movingAverageDecay > 0 ? trainable.map((v) => tf.variable(v, false)) : [];
  let step = 0;

  if (saved) {
    // The run's total may be extended or shortened on a rerun (resumeOptions); the rest stays as first chosen.
    settings = { ...saved.settings, totalSteps: settings.totalSteps };
    model.setWeights(saved.weights);
    averages.forEach((a, i) => a.assign(saved.averages[i]));
    if (saved.optimizer.length > 0) await optimizer.setWeights(saved.optimizer);
    tf.dispose([...saved.weights, ...saved.averages, ...saved.optimizer.map((n) => n.tensor)]);
    step = saved.step;
  }

  const gradientStep = await openGradientStep(model, recipe, settings, step, options.threads ?? 1, fused);
  opened.push(gradientStep);
  const { xs, labels: ys } = gradientStep;
  const augmentRandom = seededRandom(settings.seed + step);

  const writeCheckpoint = async () => {
    if (optimizer instanceof FusedOptimizer) optimizer.writeAverages(averages);
    const optimizerWeights = await optimizer.getWeights();
    try {
      await saveCheckpoint(options.runDir, { step, settings, weights: model.getWeights(), averages, optimizer: optimizerWeights });
    } finally {
      // getWeights() makes a fresh scalar for the iteration count; the other entries are the optimizer's own variables.
      tf.dispose(optimizerWeights.filter((w) => w.name === 'iter').map((w) => w.tensor));
    }
    emit({ type: 'checkpoint', step });
  };

  emit({
    type: 'start',
    preset: options.preset,
    startStep: step,
    totalSteps: settings.totalSteps,
    stepsPerEpoch,
    batchSize,
    trainCount: train.count,
    validationCount: data.validation.count,
    resumed: saved !== null,
    ...(options.heldOutImages ? { heldOutPictures: options.heldOutImages.count } : {}),
    notices,
  });

  const stepTimes: number[] = [];
  let lastYield = performance.now();
  let epochStarted = performance.now();
  let order: Uint32Array | null = null;
  let orderEpoch = -1;
  let stopped = false;

  while (step < settings.totalSteps) {
    if (hooks.signal?.aborted) {
      stopped = true;
      break;
    }
    await hooks.beforeStep?.();
    if (hooks.signal?.aborted) {
      stopped = true;
      break;
    }
    const epochIndex = Math.floor(step / stepsPerEpoch);
    if (epochIndex !== orderEpoch) {
      order = epochOrder(train.count, settings.seed, epochIndex);
      orderEpoch = epochIndex;
    }
    const start = (step % stepsPerEpoch) * batchSize;
    const indices = order!.subarray(start, Math.min(start + batchSize, train.count));
    const n = indices.length;
    fillBatch(train, indices, xs, ys, recipe.augmentShift, augmentRandom);

    const learningRate = learningRateAt(step, settings.learningRate, recipe.learningRateDecay, stepsPerEpoch);
    setLearningRate(optimizer, learningRate);
    let lossValue: number;
    if (optimizer instanceof FusedOptimizer && gradientStep.computeValues) {
      // Gradients as arrays straight from the fused step into the fused update: no tensors.
      const { loss, values } = await gradientStep.computeValues(n);
      optimizer.applyValues(trainable, values);
      lossValue = loss;
    } else {
      const { loss, gradients } = await gradientStep.compute(n);
      optimizer.applyGradients(Object.entries(gradients).map(([name, tensor]) => ({ name, tensor })));
      tf.dispose(gradients);
      lossValue = loss;
    }
    step++;
    if (averages.length > 0) {
      const decay = movingAverageDecayAt(step, recipe.movingAverageDecay);
      if (optimizer instanceof FusedOptimizer) optimizer.updateAverages(averages, trainable, decay);
      else tf.tidy(() => averages.forEach((a, i) => a.assign(a.mul(decay).add(trainable[i].mul(1 - decay)))));
    }

    const now = performance.now();
    stepTimes.push(now);
    if (stepTimes.length > SPEED_WINDOW + 1) stepTimes.shift();
    const samplesPerSecond =
      stepTimes.length > 1 ? ((stepTimes.length - 1) * batchSize * 1000) / (now - stepTimes[0]) : 0;
    const epoch = Math.floor((step - 1) / stepsPerEpoch) + 1;
    emit({ type: 'progress', step, epoch, loss: lossValue, learningRate, samplesPerSecond });

    const epochEnded = step % stepsPerEpoch === 0 || step === settings.totalSteps;
    // The fused optimizer keeps the moving averages in its own memory between uses.
    if (epochEnded && optimizer instanceof FusedOptimizer) optimizer.writeAverages(averages);
    if (epochEnded && options.validate !== false && data.validation.count > 0) {
      const seconds = (performance.now() - epochStarted) / 1000;
      const [metrics, images] = await withAveragedWeights(model, averages, () => [
        evaluateModel(model, data.validation),
        options.heldOutImages?.count ? evaluateModel(model, options.heldOutImages) : null,
      ]);
      emit({
        type: 'epoch',
        epoch,
        step,
        validationAccuracy: metrics.accuracy,
        validationLoss: metrics.loss,
        seconds,
        ...(images ? { imagesAccuracy: images.accuracy, imagesLoss: images.loss } : {}),
      });
    }
    if (epochEnded && hooks.onEpochEnd) await withAveragedWeights(model, averages, () => hooks.onEpochEnd!(epoch, model));
    if (epochEnded) epochStarted = performance.now();
    if (step % checkpointEvery === 0 && step < settings.totalSteps) await writeCheckpoint();
    if (now - lastYield > YIELD_EVERY_MS) {
      // Let timers, IPC messages and abort signals through.
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }

  await writeCheckpoint();
  // From here on the model holds the averaged weights: what the seed evaluates and exports.
  trainable.forEach((v, i) => averages[i] && v.assign(averages[i]));
  tf.dispose(averages);
  optimizer.dispose();
  return { model, step, totalSteps: settings.totalSteps, stopped, settings };
}
