/**
 * Training checkpoints: one folder `<run>/checkpoint` holding `checkpoint.json` (step, settings,
 * tensor specs) and `tensors.bin` (model weights, their moving averages and the optimizer's
 * state, in tfjs's weight encoding). Written with writeFolderAtomically, so a crash mid-write
 * leaves the previous checkpoint intact.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readableFolder, writeFolderAtomically } from './atomicFolder.ts';
import type { PresetName } from './models.ts';

/** A named tensor as optimizers save their state (tfjs-core's NamedTensor, not re-exported by tfjs). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export const CHECKPOINT_FOLDER = 'checkpoint';
const MANIFEST = 'checkpoint.json';
const TENSORS = 'tensors.bin';
const FORMAT = 'digit-studio-checkpoint/1';

/** What a run was started with; a resumed run must match it. */
export interface RunSettings {
  preset: PresetName;
  totalSteps: number;
  batchSize: number;
  learningRate: number;
  trainCount: number;
  seed: number;
}

export interface CheckpointState {
  step: number;
  settings: RunSettings;
  /** All model weights (trainable and not), in model.weights order. */
  weights: tf.Tensor[];
  /** Moving averages of the trainable weights, in model.trainableWeights order (empty when off). */
  averages: tf.Tensor[];
  /** optimizer.getWeights(), in order. */
  optimizer: NamedTensor[];
}

interface Manifest {
  format: string;
  step: number;
  settings: RunSettings;
  savedAt: string;
  counts: { weights: number; averages: number; optimizer: number };
  specs: tf.io.WeightsManifestEntry[];
}

export function checkpointDir(runDir: string): string {
  return path.join(runDir, CHECKPOINT_FOLDER);
}

export async function saveCheckpoint(runDir: string, state: CheckpointState): Promise<void> {
  const named: NamedTensor[] = [
    ...state.weights.map((tensor, i) => ({ name: `weights/${i}`, tensor })),
    ...state.averages.map((tensor, i) => ({ name: `averages/${i}`, tensor })),
    ...state.optimizer.map(({ name, tensor }) => ({ name: `optimizer/${name}`, tensor })),
  ];
  const { data, specs } = await tf.io.encodeWeights(named);
  const manifest: Manifest = {
    format: FORMAT,
    step: state.step,
    settings: state.settings,
    savedAt: new Date().toISOString(),
    counts: { weights: state.weights.length, averages: state.averages.length, optimizer: state.optimizer.length },
    specs,
  };
  await writeFolderAtomically(checkpointDir(runDir), {
    [MANIFEST]: JSON.stringify(manifest, null, 1),
    [TENSORS]: new Uint8Array(data),
  });
}

/** The step and settings of a run's latest checkpoint, read without decoding its tensors; null when none. */
export interface CheckpointInfo {
  step: number;
  totalSteps: number;
  savedAt: string;
  settings: RunSettings;
}

export async function readCheckpointInfo(runDir: string): Promise<CheckpointInfo | null> {
  const dir = await readableFolder(checkpointDir(runDir));
  if (!dir) return null;
  let manifest: Partial<Manifest>;
  try {
    manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as Partial<Manifest>;
  } catch {
    return null;
  }
  if (manifest.format !== FORMAT || typeof manifest.step !== 'number' || !manifest.settings) return null;
  return {
    step: manifest.step,
    totalSteps: manifest.settings.totalSteps,
    savedAt: manifest.savedAt ?? new Date(0).toISOString(),
    settings: manifest.settings,
  };
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** Reads a run's latest checkpoint, or null when the run has none yet. Tensors belong to the caller. */
export async function loadCheckpoint(runDir: string): Promise<CheckpointState | null> {
  const dir = await readableFolder(checkpointDir(runDir));
  if (!dir) return null;
  let manifest: Manifest;
  let bytes: Buffer;
  try {
    manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as Manifest;
    bytes = await fs.readFile(path.join(dir, TENSORS));
  } catch (error) {
    throw new CheckpointError(`${dir}: unreadable checkpoint (${(error as Error).message})`);
  }
  if (manifest.format !== FORMAT) throw new CheckpointError(`${dir}: not a Digit Studio checkpoint`);
  const expected = manifest.specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (bytes.byteLength !== expected) {
    throw new CheckpointError(`${dir}: ${TENSORS} holds ${bytes.byteLength} bytes, expected ${expected}`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(buffer, manifest.specs);
  const take = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => map[`${prefix}/${i}`]);
  return {
    step: manifest.step,
    settings: manifest.settings,
    weights: take('weights', manifest.counts.weights),
    averages: take('averages', manifest.counts.averages),
    optimizer: manifest.specs
      .filter((s) => s.name.startsWith('optimizer/'))
      .map((s) => ({ name: s.name.slice('optimizer/'.length), tensor: map[s.name] })),
  };
}
