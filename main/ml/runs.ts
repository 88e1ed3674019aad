/**
 * Turning a training run into a model folder: from the trained model at the end of a run, or
 * from a run's latest checkpoint (`digits export`).
 */
import type * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { FolderWriteError } from './atomicFolder.ts';
import { currentBackend } from './backend.ts';
import { CheckpointError, loadCheckpoint, type RunSettings } from './checkpoint.ts';
import type { ImageSet, MnistSplits } from './dataset.ts';
import { evaluateModel, type EvaluationMetrics } from './evaluate.ts';
import { withRunLock } from './folderLock.ts';
import { PRESETS, createModel } from './models.ts';
import {
  DEFAULT_LABELS,
  DEFAULT_PREPROCESSING,
  describeInput,
  saveModelFolder,
  type ModelMetadata,
  type RunEndStatus,
  type TrainedOn,
} from './modelFolder.ts';
import { RunRecorder } from './runHistory.ts';
import { trainModel, type TrainingHooks, type TrainingOptions } from './trainer.ts';

export const RUN_MODEL_FOLDER = 'model';

export function runModelDir(runDir: string): string {
  return path.join(runDir, RUN_MODEL_FOLDER);
}

/** What buildMetadata cannot know from the run's settings: the data behind it, and how the run ended. */
export type MetadataExtras = Pick<
  ModelMetadata,
  'trainedOn' | 'images' | 'status' | 'step' | 'totalSteps' | 'bestValidationAccuracy' | 'wallSeconds'
>;

export function buildMetadata(settings: RunSettings, step: number, test?: EvaluationMetrics, extras: MetadataExtras = {}): ModelMetadata {
  const averaged = PRESETS[settings.preset].recipe.movingAverageDecay > 0;
  return {
    format: 'digit-studio-model/1',
    preset: settings.preset,
    labels: DEFAULT_LABELS,
    input: describeInput(),
    output: 'probabilities',
    preprocessing: DEFAULT_PREPROCESSING,
    training: {
      steps: step,
      batchSize: settings.batchSize,
      learningRate: settings.learningRate,
      trainCount: settings.trainCount,
      seed: settings.seed,
      weights: averaged ? 'moving-average' : 'raw',
    },
    test: test ? { accuracy: test.accuracy, loss: test.loss, count: test.count } : undefined,
    ...extras,
    backend: currentBackend()?.name ?? 'unknown',
    createdAt: new Date().toISOString(),
    app: 'Digit Studio',
  };
}

/**
 * The model of a run's latest checkpoint, holding the moving-average weights when the preset
 * keeps them (what the seed's test script restores).
 */
export async function modelFromCheckpoint(
  runDir: string,
): Promise<{ model: tf.Sequential; settings: RunSettings; step: number; notes: string[] }> {
  const state = await loadCheckpoint(runDir);
  if (!state) throw new CheckpointError(`${runDir} holds no checkpoint (is it a run folder? train into it first)`);
  const model = createModel(state.settings.preset, state.settings.seed);
  model.setWeights(state.weights);
  if (state.averages.length > 0) {
    model.trainableWeights.forEach((w, i) => (w.read() as tf.Variable).assign(state.averages[i]));
  }
  for (const t of [...state.weights, ...state.averages, ...state.optimizer.map((n) => n.tensor)]) t.dispose();
  return { model, settings: state.settings, step: state.step, notes: state.notes };
}

/**
 * Writes `model` (already holding its final weights) as a model folder, with test metrics when a
 * test set is given. Returns those metrics.
 */
export async function exportModel(
  model: tf.LayersModel,
  settings: RunSettings,
  step: number,
  toDir: string,
  options: { overwrite?: boolean; test?: ImageSet; extras?: MetadataExtras } = {},
): Promise<EvaluationMetrics | undefined> {
  const metrics = options.test ? evaluateModel(model, options.test) : undefined;
  await saveModelFolder(toDir, model, buildMetadata(settings, step, metrics, options.extras), { overwrite: options.overwrite });
  return metrics;
}

/**
 * How a run ended. Finished or stopped, it has a model (`<run>/model`, the averaged weights of
 * its last checkpoint, tested on `data.test`), except a run stopped before its first step.
 */
export interface TrainRunOutcome {
  status: RunEndStatus;
  stopped: boolean;
  step: number;
  totalSteps: number;
  modelDir: string | null;
  test: EvaluationMetrics | null;
  /** Accuracy on the held-out labelled pictures, when there were any. */
  images?: EvaluationMetrics;
}

/**
 * Trains (or resumes) a run, records its history (`history.json`) and, when it ends (finished
 * or stopped), writes its model folder with its metrics on `data.test`, replacing an earlier one:
 * a stopped run is usable at once and stays resumable; resuming it replaces its model when it
 * ends again. The one train-then-export used by `digits train` and the training worker. The
 * trained model is disposed either way.
 */
export async function trainRun(
  data: MnistSplits,
  options: TrainingOptions,
  hooks: TrainingHooks = {},
  trainedOn?: TrainedOn,
): Promise<TrainRunOutcome> {
  // One writer per run folder, whether the CLI or the app's training worker ("run X is in use by process N").
  return withRunLock(options.runDir, async () => {
    const recorder = await RunRecorder.open(options.runDir, { backend: currentBackend()?.name });
    const result = await trainModel(data, options, {
      ...hooks,
      onEvent: (event) => {
        recorder.record(event);
        hooks.onEvent?.(event);
      },
      // Time parked in beforeStep (a paused run) is not training time.
      beforeStep: hooks.beforeStep
        ? async () => {
            const started = performance.now();
            await hooks.beforeStep!();
            recorder.excludePause(performance.now() - started);
          }
        : undefined,
    });
    try {
      const { step, totalSteps, stopped } = result;
      const status: RunEndStatus = stopped ? 'stopped' : 'finished';
      await recorder.finish(step);
      if (step === 0) return { status, stopped, step, totalSteps, modelDir: null, test: null };
      const modelDir = runModelDir(options.runDir);
      // Held-out pictures (training on labelled pictures) are measured and recorded beside MNIST's test.
      const images = options.heldOutImages?.count ? evaluateModel(result.model, options.heldOutImages) : undefined;
      const best = recorder.bestValidationAccuracy;
      const extras: MetadataExtras = {
        ...(trainedOn ? { trainedOn } : {}),
        ...(images ? { images: { accuracy: images.accuracy, loss: images.loss, count: images.count } } : {}),
        status,
        step,
        totalSteps,
        ...(best !== null ? { bestValidationAccuracy: best } : {}),
        wallSeconds: Math.round(recorder.seconds * 10) / 10,
      };
      let test: EvaluationMetrics;
      try {
        test = (await exportModel(result.model, result.settings, step, modelDir, { overwrite: true, test: data.test, extras }))!;
      } catch (error) {
        if (!(error instanceof FolderWriteError)) throw error;
        const safe = `the checkpoint at step ${step} is intact, so running the same training again writes the model folder`;
        throw new FolderWriteError(`${error.message}; ${safe}`, error.code);
      }
      return { status, stopped, step, totalSteps, modelDir, test, ...(images ? { images } : {}) };
    } finally {
      result.model.dispose();
    }
  });
}
