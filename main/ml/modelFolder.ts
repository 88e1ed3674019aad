/**
 * Model folders: `model.json` + `weights.bin` in TensorFlow.js layers format (loadable by plain
 * `tf.loadLayersModel` anywhere) plus `metadata.json` describing how the model was made and how
 * well it does, with the SHA-256 of the weights. Written atomically: a half-written folder never
 * replaces a good one.
 *
 * Loading treats the folder as untrusted input (it may come from anywhere): files are read only
 * inside the folder, only regular files, within size caps (untrustedFiles.ts); every declaration
 * is checked, the topology's shapes and parameter count included, before TensorFlow.js builds
 * anything (modelFolderChecks.ts); the weights must match their recorded SHA-256 and be finite.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { nodeFolderFs, readableFolder, replaceRefusal, writeFolderAtomically, type FolderFiles, type FolderFs } from './atomicFolder.ts';
import { IMAGE_SIZE, LABELS } from './dataset.ts';
import {
  analyseTopology,
  MODEL_FOLDER_LIMITS,
  ModelFolderError,
  parseMetadata,
  parseModelJson,
  weightElements,
  type ModelJson,
  type ModelMetadata,
  type RunEndStatus,
  type TestMetricsSummary,
  type TrainedOn,
} from './modelFolderChecks.ts';
import { weightDataBytes } from './weightBytes.ts';
import { formatBytes, readRegularFile, regularFileSize, resolveInside, sha256Hex, UntrustedFileError } from './untrustedFiles.ts';

export { MODEL_FOLDER_LIMITS, ModelFolderError, type ModelMetadata, type RunEndStatus, type TestMetricsSummary, type TrainedOn };

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
export const METADATA_JSON = 'metadata.json';

export const DEFAULT_PREPROCESSING =
  'grey; ink polarity detected; Otsu threshold; crop to ink; fit 20x20 keeping aspect; centre of mass at the centre of 28x28; values in [0, 1], ink = 1';

export function describeInput(): ModelMetadata['input'] {
  return { shape: [IMAGE_SIZE, IMAGE_SIZE, 1], range: [0, 1], ink: 'high', layout: 'NHWC' };
}

export const DEFAULT_LABELS = [...LABELS];

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
 * Writes a model folder, with the SHA-256 of its weights in metadata.json (a model without
 * metadata, imported from a plain tfjs folder, is written as a plain folder). Refuses a folder
 * holding anything but a previous model, and a previous model unless `overwrite` is set; the
 * replacement is atomic either way.
 */
export async function saveModelFolder(
  dir: string,
  model: tf.LayersModel,
  metadata: ModelMetadata | null,
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
  const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
  const withHash: ModelMetadata | null = metadata && { ...metadata, weightsSha256: { [WEIGHTS_BIN]: sha256Hex(weights) } };
  await writeModelFolderFiles(
    dir,
    {
      [MODEL_JSON]: JSON.stringify(modelJson),
      [WEIGHTS_BIN]: weights,
      ...(withHash ? { [METADATA_JSON]: JSON.stringify(withHash, null, 2) } : {}),
    },
    options,
  );
}

export interface LoadedModel {
  /** Takes [batch, 28, 28, 1] in [0, 1], gives [batch, 10]. */
  model: tf.LayersModel;
  metadata: ModelMetadata | null;
  dir: string;
  /** What the user should know about this folder (e.g. no checksum to verify the weights by). */
  notes: string[];
}

/**
 * Reads `name` inside the folder (real path `root`) under `maxBytes`; ModelFolderError otherwise.
 * With `optional`, a missing file gives null.
 */
async function readInside(dir: string, root: string, name: string, maxBytes: number, label: string): Promise<Buffer>;
async function readInside(dir: string, root: string, name: string, maxBytes: number, label: string, options: { optional: true }): Promise<Buffer | null>;
async function readInside(dir: string, root: string, name: string, maxBytes: number, label: string, options?: { optional: true }): Promise<Buffer | null> {
  try {
    return await readRegularFile(await resolveInside(root, name, label), maxBytes, label);
  } catch (error) {
    if (options?.optional && error instanceof UntrustedFileError && error.reason === 'missing') return null;
    throw asFolderError(error, dir, name);
  }
}

function asFolderError(error: unknown, dir: string, name: string): Error {
  if (error instanceof UntrustedFileError) {
    if (error.reason === 'missing' && name === MODEL_JSON) return new ModelFolderError(`${dir} is not a model folder: ${MODEL_JSON} is missing`);
    return new ModelFolderError(error.message);
  }
  return error as Error;
}

function parseJson(bytes: Buffer, label: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ModelFolderError(`${label}: not valid JSON`);
  }
}

/** The index of the first non-finite float32 weight, by manifest entry; null when all are finite. */
function firstNonFinite(specs: ModelJson['weightsManifest'][number]['weights'], data: ArrayBuffer): { name: string; index: number } | null {
  let offset = 0;
  for (const spec of specs) {
    const elements = weightElements(spec);
    const bytes = weightDataBytes([spec]);
    if (spec.dtype === 'float32' && !spec.quantization) {
      const values = offset % 4 === 0 ? new Float32Array(data, offset, elements) : new Float32Array(data.slice(offset, offset + bytes));
      for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return { name: spec.name, index: i };
    }
    offset += bytes;
  }
  return null;
}

/**
 * Loads a model folder written by saveModelFolder, or any tfjs layers model of the right shape.
 * Everything is checked before TensorFlow.js builds the model (see the module comment); a refusal
 * is a ModelFolderError naming the file and the problem.
 */
export async function loadModelFolder(requested: string): Promise<LoadedModel> {
  // After a crash between the renames of a folder write, the complete copy beside it is read.
  const dir = (await readableFolder(requested)) ?? requested;
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat) throw new ModelFolderError(`${dir}: no such folder`);
  if (!stat.isDirectory()) throw new ModelFolderError(`${dir} is a file; a model folder holds ${MODEL_JSON} and ${WEIGHTS_BIN}`);
  const root = await fs.realpath(dir);
  const notes: string[] = [];
  if (dir !== requested) notes.push(`${requested} is missing after an interrupted write; loaded its complete copy ${path.basename(dir)}`);
  const modelLabel = path.join(dir, MODEL_JSON);

  // 1. model.json: its fields, then the topology's shapes and parameter count, from the JSON alone.
  const modelJson = parseModelJson(parseJson(await readInside(dir, root, MODEL_JSON, MODEL_FOLDER_LIMITS.modelJsonBytes, modelLabel), modelLabel), modelLabel);
  const topology = analyseTopology(modelJson.modelTopology, modelLabel);
  const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const declared = specs.reduce((sum, spec) => sum + weightElements(spec), 0);
  if (declared !== topology.parameters) {
    throw new ModelFolderError(`${modelLabel}: the layers need ${topology.parameters} weights but weightsManifest lists ${declared}`);
  }

  // 2. The weights files: inside the folder, regular, of the declared size, by stat before any read.
  const files: { name: string; real: string; size: number }[] = [];
  let total = 0;
  for (const [g, group] of modelJson.weightsManifest.entries()) {
    let groupBytes = 0;
    for (const name of group.paths) {
      const label = `${dir}: weights file ${JSON.stringify(name)} (listed in ${MODEL_JSON})`;
      try {
        const real = await resolveInside(root, name, label);
        const size = await regularFileSize(real, MODEL_FOLDER_LIMITS.weightsBytes, label);
        files.push({ name, real, size });
        groupBytes += size;
        total += size;
      } catch (error) {
        throw asFolderError(error, dir, name);
      }
      if (total > MODEL_FOLDER_LIMITS.weightsBytes) {
        throw new ModelFolderError(`${dir}: the weights files add up to more than the ${formatBytes(MODEL_FOLDER_LIMITS.weightsBytes)} allowed; refused`);
      }
    }
    const expected = weightDataBytes(group.weights);
    if (groupBytes !== expected) {
      throw new ModelFolderError(`${dir}: ${group.paths.join(' + ')} ${group.paths.length > 1 ? 'hold' : 'holds'} ${groupBytes} bytes, ${MODEL_JSON} (weightsManifest[${g}]) expects ${expected}`);
    }
  }

  // 3. metadata.json (optional: a plain tfjs folder has none).
  const metadataLabel = path.join(dir, METADATA_JSON);
  let metadata: ModelMetadata | null = null;
  const metadataBytes = await readInside(dir, root, METADATA_JSON, MODEL_FOLDER_LIMITS.metadataJsonBytes, metadataLabel, { optional: true });
  if (metadataBytes) {
    const parsed = parseMetadata(parseJson(metadataBytes, metadataLabel), metadataLabel);
    metadata = parsed.metadata;
    if (parsed.note) notes.push(parsed.note);
  } else {
    notes.push(`${dir} has no ${METADATA_JSON} (a plain TensorFlow.js model folder)`);
  }

  // 4. Read the weights; compare with the recorded SHA-256; refuse non-finite values.
  const weights = new Uint8Array(total);
  let offset = 0;
  const hashes = metadata?.weightsSha256;
  for (const file of files) {
    const label = `${dir}: weights file ${JSON.stringify(file.name)}`;
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(file.real, file.size, label);
    } catch (error) {
      throw asFolderError(error, dir, file.name);
    }
    if (bytes.length !== file.size) throw new ModelFolderError(`${label} changed while it was read; try again`);
    if (hashes) {
      const expected = Object.hasOwn(hashes, file.name) ? hashes[file.name] : undefined;
      if (!expected) throw new ModelFolderError(`${metadataLabel}: weightsSha256 records no SHA-256 for ${JSON.stringify(file.name)}`);
      if (sha256Hex(bytes) !== expected) {
        throw new ModelFolderError(`${dir}: ${file.name} does not match the SHA-256 recorded in ${METADATA_JSON}: the file is damaged or was changed`);
      }
    }
    weights.set(bytes, offset);
    offset += bytes.length;
  }
  if (!hashes) notes.push(`No SHA-256 is recorded for the weights (an older or foreign model folder), so damage to them cannot be detected`);
  const nonFinite = firstNonFinite(specs, weights.buffer);
  if (nonFinite) {
    throw new ModelFolderError(`${dir}: weight ${nonFinite.name} holds a non-finite value (NaN or infinity) at index ${nonFinite.index}; the weights are damaged`);
  }

  // 5. Only now build it.
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs as tf.io.WeightsManifestEntry[], weightData: weights.buffer }));
  } catch (error) {
    throw new ModelFolderError(`${modelLabel}: the model could not be built (${(error as Error).message})`);
  }
  return { model: withImageInput(model, topology.input), metadata, dir, notes };
}

/** A model taking [batch, 784] gets a Flatten in front, so every model takes [batch, 28, 28, 1]. */
function withImageInput(model: tf.LayersModel, input: number[]): tf.LayersModel {
  if (input.length === 3) return model;
  const names = new Set(model.layers.map((layer) => layer.name));
  let name = 'image_to_vector';
  while (names.has(name)) name += '_';
  return tf.sequential({ name: `${model.name}_on_images`, layers: [tf.layers.flatten({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1], name }), model] });
}

