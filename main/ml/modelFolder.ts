/**
 * Model folders: `model.json` + `weights.bin` in TensorFlow.js layers format (loadable by plain
 * `tf.loadLayersModel` anywhere) plus `metadata.json` describing how the model was made and how
 * well it does. Written atomically: a half-written folder never replaces a good one.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { nodeFolderFs, readableFolder, replaceRefusal, writeFolderAtomically, type FolderFiles, type FolderFs } from './atomicFolder.ts';
import { IMAGE_SIZE, LABELS } from './dataset.ts';
import type { PresetName } from './models.ts';
import { weightDataBytes } from './weightBytes.ts';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const METADATA_JSON = 'metadata.json';

export interface TestMetricsSummary {
  accuracy: number;
  loss: number;
  count: number;
}

export interface ModelMetadata {
  format: 'digit-studio-model/1';
  preset: PresetName;
  labels: string[];
  input: { shape: [number, number, number]; range: [number, number]; ink: 'high'; layout: 'NHWC' };
  output: 'probabilities';
  preprocessing: string;
  training: {
    steps: number;
    batchSize: number;
    learningRate: number;
    trainCount: number;
    seed: number;
    weights: 'moving-average' | 'raw';
  };
  test?: TestMetricsSummary;
  /** What the model was trained on (absent in folders written before this was recorded). */
  trainedOn?: TrainedOn;
  /** Accuracy on the labelled pictures held out of training, when there were any. */
  images?: TestMetricsSummary;
  backend: string;
  createdAt: string;
  app: string;
}

/** The data behind a model: MNIST and/or labelled pictures, and the model it started from. */
export interface TrainedOn {
  /** MNIST's training images used (all of them, or the replay sample per epoch), or null when not used. */
  mnist: { source: string; count: number } | null;
  pictures?: {
    /** The labelled folder's name (not its full path, which may be private). */
    folder: string;
    count: number;
    perDigit: number[];
    trainCount: number;
    heldOutCount: number;
    /** sha256 over every picture's file name, label and content (labelledFolder.ts). */
    contentHash: string;
    augmented: boolean;
    copies: number;
  };
  fineTunedFrom?: { folder: string; preset: string; createdAt?: string; test?: TestMetricsSummary; trainedOn?: TrainedOn };
}

export const DEFAULT_PREPROCESSING =
  'grey; ink polarity detected; Otsu threshold; crop to ink; fit 20x20 keeping aspect; centre of mass at the centre of 28x28; values in [0, 1], ink = 1';

export function describeInput(): ModelMetadata['input'] {
  return { shape: [IMAGE_SIZE, IMAGE_SIZE, 1], range: [0, 1], ink: 'high', layout: 'NHWC' };
}

export const DEFAULT_LABELS = [...LABELS];

export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
}

/** The artifacts of a model as tfjs would save them, without touching the disk. */
async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new ModelFolderError('TensorFlow.js produced no model artifacts');
  return captured;
}

/**
 * Whether a folder's file names are those of a model folder (model.json, its weights files,
 * metadata.json): the only non-empty folder an export may replace.
 */
export function isModelFolderListing(names: string[]): boolean {
  return names.includes(MODEL_JSON) && names.every((n) => n === MODEL_JSON || n === METADATA_JSON || n.endsWith('.bin'));
}

export interface ModelFolderWriteOptions {
  /** Allows replacing a previous model folder; an empty or missing folder needs no permission. */
  overwrite?: boolean;
  fs?: FolderFs;
}

/**
 * Why `dir` may not receive a model folder, or null when it may: missing, empty, or (with
 * `overwrite`) a previous model folder. A file, a link or a folder holding anything else is
 * refused whatever `overwrite` says.
 */
export async function modelFolderRefusal(dir: string, options: ModelFolderWriteOptions = {}): Promise<string | null> {
  const refusal = await replaceRefusal(dir, { replaceable: isModelFolderListing, what: 'model folder', fs: options.fs });
  if (refusal) return refusal;
  const names = await (options.fs ?? nodeFolderFs).readdir(dir).catch(() => [] as string[]);
  if (names.length > 0 && !options.overwrite) return `${dir} already holds a model; allow overwriting to replace it`;
  return null;
}

/** Writes a model folder's files into `dir` atomically, after modelFolderRefusal allows it. */
export async function writeModelFolderFiles(dir: string, files: FolderFiles, options: ModelFolderWriteOptions = {}): Promise<void> {
  const refusal = await modelFolderRefusal(dir, options);
  if (refusal) throw new ModelFolderError(refusal);
  await writeFolderAtomically(dir, files, { replaceable: isModelFolderListing, what: 'model folder', fs: options.fs });
}

/**
 * Writes a model folder. Refuses a folder holding anything but a previous model, and a previous
 * model unless `overwrite` is set; the replacement is atomic either way.
 */
export async function saveModelFolder(
  dir: string,
  model: tf.LayersModel,
  metadata: ModelMetadata,
  options: ModelFolderWriteOptions = {},
): Promise<void> {
  const refusal = await modelFolderRefusal(dir, options);
  if (refusal) throw new ModelFolderError(refusal);
  const artifacts = await artifactsOf(model);
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
  };
  const weightData = artifacts.weightData as ArrayBuffer;
  await writeModelFolderFiles(
    dir,
    {
      [MODEL_JSON]: JSON.stringify(modelJson),
      [WEIGHTS_BIN]: new Uint8Array(weightData),
      [METADATA_JSON]: JSON.stringify(metadata, null, 2),
    },
    options,
  );
}

export interface LoadedModel {
  model: tf.LayersModel;
  metadata: ModelMetadata | null;
  dir: string;
}

async function readRequired(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ModelFolderError(`${path.dirname(file)} is not a model folder: ${what} is missing`);
    throw new ModelFolderError(`${file}: cannot read ${what} (${(error as Error).message})`);
  }
}

/** Loads a model folder written by saveModelFolder (or any tfjs layers model with one weights file). */
export async function loadModelFolder(requested: string): Promise<LoadedModel> {
  // After a crash between the renames of a folder write, the complete copy beside it is read.
  const dir = (await readableFolder(requested)) ?? requested;
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat) throw new ModelFolderError(`${dir}: no such folder`);
  if (!stat.isDirectory()) throw new ModelFolderError(`${dir} is a file; a model folder holds ${MODEL_JSON} and ${WEIGHTS_BIN}`);
  let modelJson: {
    modelTopology?: object;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  try {
    modelJson = JSON.parse((await readRequired(path.join(dir, MODEL_JSON), MODEL_JSON)).toString('utf8'));
  } catch (error) {
    if (error instanceof ModelFolderError) throw error;
    throw new ModelFolderError(`${path.join(dir, MODEL_JSON)}: not valid JSON`);
  }
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new ModelFolderError(`${path.join(dir, MODEL_JSON)}: not a TensorFlow.js layers model`);
  }
  const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const buffers = await Promise.all(
    modelJson.weightsManifest.flatMap((group) => group.paths).map((p) => readRequired(path.join(dir, p), p)),
  );
  const weights = Buffer.concat(buffers);
  const expected = weightDataBytes(specs);
  if (weights.byteLength !== expected) {
    throw new ModelFolderError(`${dir}: ${WEIGHTS_BIN} holds ${weights.byteLength} bytes, ${MODEL_JSON} expects ${expected}`);
  }
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs: specs,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
      }),
    );
  } catch (error) {
    throw new ModelFolderError(`${dir}: the model could not be built (${(error as Error).message})`);
  }
  const shape = model.inputs[0].shape;
  if (shape.length !== 4 || shape[1] !== IMAGE_SIZE || shape[2] !== IMAGE_SIZE || shape[3] !== 1) {
    model.dispose();
    throw new ModelFolderError(`${dir}: the model takes input ${JSON.stringify(shape)}, not [batch, 28, 28, 1]`);
  }
  let metadata: ModelMetadata | null = null;
  try {
    metadata = JSON.parse(await fs.readFile(path.join(dir, METADATA_JSON), 'utf8')) as ModelMetadata;
  } catch {
    metadata = null; // A plain tfjs model folder has none; it still works.
  }
  return { model, metadata, dir };
}
