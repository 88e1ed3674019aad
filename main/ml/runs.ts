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
  type TrainedOn,
} from './modelFolder.ts';
import { trainModel, type TrainingHooks, type TrainingOptions } from './trainer.ts';

export const RUN_MODEL_FOLDER = 'model';

export function runModelDir(runDir: string): string {
  return path.join(runDir, RUN_MODEL_FOLDER);
}

/** What buildMetadata cannot know from the run's settings: the data behind it. */
export type MetadataExtras = Pick<ModelMetadata, 'trainedOn' | 'images'>;

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

/** How a run ended: stopped early (a checkpoint to resume from) or finished and exported. */
export type TrainRunOutcome =
  | { stopped: true; step: number; totalSteps: number }
  | { stopped: false; step: number; totalSteps: number; modelDir: string; test: EvaluationMetrics; images?: EvaluationMetrics };

/**
 * Trains (or resumes) a run and, when it finishes, exports it to `<runDir>/model` with its metrics
 * on `data.test`, replacing an earlier export. The one train-then-export used by `digits train`
 * and the training worker. The trained model is disposed either way.
 */
export async function trainRun(
  data: MnistSplits,
  options: TrainingOptions,
  hooks: TrainingHooks = {},
  trainedOn?: TrainedOn,
): Promise<TrainRunOutcome> {
  // One writer per run folder, whether the CLI or the app's training worker ("run X is in use by process N").
  return withRunLock(options.runDir, async () => {
    const result = await trainModel(data, options, hooks);
    try {
      const { step, totalSteps } = result;
      if (result.stopped) return { stopped: true, step, totalSteps };
      const modelDir = runModelDir(options.runDir);
      // Held-out pictures (training on labelled pictures) are measured and recorded beside MNIST's test.
      const images = options.heldOutImages?.count ? evaluateModel(result.model, options.heldOutImages) : undefined;
      const extras: MetadataExtras = {
        ...(trainedOn ? { trainedOn } : {}),
        ...(images ? { images: { accuracy: images.accuracy, loss: images.loss, count: images.count } } : {}),
      };
      let test: EvaluationMetrics;
      try {
        test = (await exportModel(result.model, result.settings, step, modelDir, { overwrite: true, test: data.test, extras }))!;
      } catch (error) {
        if (!(error instanceof FolderWriteError)) throw error;
        const safe = `the checkpoint at step ${step} is intact, so running the same training again writes the model folder`;
        throw new FolderWriteError(`${error.message}; ${safe}`, error.code);
      }
      return { stopped: false, step, totalSteps, modelDir, test, ...(images ? { images } : {}) };
    } finally {
      result.model.dispose();
    }
  });
}
