/**
 * Training checkpoints, one numbered folder per saved step:
 *
 *   <run>/checkpoints/step-00000050/  checkpoint.json  tensors.bin
 *   <run>/checkpoints/step-00000075/  ...
 *
 * `checkpoint.json` holds the step, the run's settings, the tensor specs and the SHA-256 of
 * `tensors.bin` (model weights, their moving averages and the optimizer's state, in tfjs's weight
 * encoding). A checkpoint is written into a temp folder, fsynced and renamed to its step's name:
 * that rename is the commit, so a folder with a step name is complete. Only then are older ones
 * pruned, keeping the newest two (like TensorFlow's CheckpointManager with max_to_keep=2): the last
 * good copy is never deleted first. Readers take the newest folder that validates (zod) and whose
 * hash matches, and say which newer ones they skipped and why; no pointer file is needed, which
 * leaves one write fewer to go wrong. Runs written by earlier versions (`<run>/checkpoint/`, no
 * hash) still load, with a note.
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { z } from 'zod';
import {
  describeFsError,
  newTag,
  nodeFolderFs,
  releaseTemp,
  removeStaleTemps,
  writeTempFolder,
  type FolderFs,
} from './atomicFolder.ts';
import { PRESET_NAMES, type PresetName } from './models.ts';
import type { RunSettings } from './types.ts';
import { sha256Hex } from './untrustedFiles.ts';
import { weightDataBytes } from './weightBytes.ts';

/** A named tensor as optimizers save their state (tfjs-core's NamedTensor, not re-exported by tfjs). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export const CHECKPOINTS_FOLDER = 'checkpoints';
/** How many complete checkpoints a run keeps. */
export const CHECKPOINTS_KEPT = 2;
/** Where earlier versions kept their single checkpoint (with `.old` next to it). */
const LEGACY_FOLDERS = ['checkpoint', 'checkpoint.old'];
const MANIFEST = 'checkpoint.json';
const TENSORS = 'tensors.bin';
const FORMAT = 'digit-studio-checkpoint/2';
const LEGACY_FORMAT = 'digit-studio-checkpoint/1';
/** A checkpoint.json is a few kilobytes; anything far larger is not one. */
const MANIFEST_MAX_BYTES = 1 << 20;
const STEP_FOLDER = /^step-(\d{8,})$/;

export type { RunSettings };

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

const settingsSchema = z.object({
  preset: z.enum(PRESET_NAMES as [PresetName, ...PresetName[]]),
  totalSteps: z.int().min(1),
  batchSize: z.int().min(1),
  learningRate: z.number().positive(),
  trainCount: z.int().min(1),
  seed: z.int(),
});

const specSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.int().min(0)),
  dtype: z.enum(['float32', 'int32']),
});

const manifestSchema = z
  .object({
    format: z.enum([FORMAT, LEGACY_FORMAT]),
    step: z.int().min(0),
    settings: settingsSchema,
    savedAt: z.string(),
    counts: z.object({ weights: z.int().min(0), averages: z.int().min(0), optimizer: z.int().min(0) }),
    specs: z.array(specSchema),
    tensors: z.object({ bytes: z.int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  })
  .check((ctx) => {
    const m = ctx.value;
    if (m.step > m.settings.totalSteps) {
      ctx.issues.push({ code: 'custom', input: m.step, path: ['step'], message: `step ${m.step} is beyond the run's ${m.settings.totalSteps} steps` });
    }
    if (m.counts.weights + m.counts.averages + m.counts.optimizer !== m.specs.length) {
      ctx.issues.push({ code: 'custom', input: m.counts, path: ['counts'], message: `the counts do not add up to the ${m.specs.length} tensor specs` });
    }
    if (m.format === FORMAT && !m.tensors) {
      ctx.issues.push({ code: 'custom', input: m, path: ['tensors'], message: 'the SHA-256 of the tensors is missing' });
    }
  });

type Manifest = z.infer<typeof manifestSchema>;

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, CHECKPOINTS_FOLDER);
}

function stepFolderName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** A checkpoint folder to try, newest first. */
interface Candidate {
  folder: string;
  legacy: boolean;
}

async function listCandidates(runDir: string, fsx: FolderFs): Promise<Candidate[]> {
  const numbered: { step: number; folder: string }[] = [];
  try {
    for (const name of await fsx.readdir(checkpointsDir(runDir))) {
      const match = STEP_FOLDER.exec(name);
      if (match) numbered.push({ step: Number(match[1]), folder: path.join(checkpointsDir(runDir), name) });
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
  numbered.sort((a, b) => b.step - a.step);
  const candidates: Candidate[] = numbered.map(({ folder }) => ({ folder, legacy: false }));
  for (const name of LEGACY_FOLDERS) {
    const folder = path.join(runDir, name);
    if ((await fsx.lstat(folder))?.isDirectory()) candidates.push({ folder, legacy: true });
  }
  return candidates;
}

class Unusable extends Error {}

/** The first problems zod found, as `field: message`. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'the file'}: ${issue.message}`)
    .join('; ');
}

/**
 * Reads and validates a candidate's checkpoint.json and checks tensors.bin's size; with `verify`
 * also reads tensors.bin and checks its SHA-256. Throws Unusable with a message naming the file.
 */
async function readCandidate(
  candidate: Candidate,
  verify: boolean,
  fsx: FolderFs,
): Promise<{ manifest: Manifest; bytes: Buffer | null }> {
  const manifestFile = path.join(candidate.folder, MANIFEST);
  const tensorsFile = path.join(candidate.folder, TENSORS);
  const manifestStat = await fsx.lstat(manifestFile).catch(() => null);
  if (!manifestStat?.isFile()) throw new Unusable(`${manifestFile} is missing`);
  if (manifestStat.size > MANIFEST_MAX_BYTES) throw new Unusable(`${manifestFile} is ${manifestStat.size} bytes, too large for a checkpoint manifest`);
  let json: unknown;
  try {
    json = JSON.parse((await fsx.readFile(manifestFile)).toString('utf8'));
  } catch (error) {
    throw new Unusable(`${manifestFile} is not valid JSON (${describeFsError(error)})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new Unusable(`${manifestFile} is not a valid checkpoint: ${describeIssues(parsed.error)}`);
  const manifest = parsed.data;
  const folderStep = STEP_FOLDER.exec(path.basename(candidate.folder));
  if (folderStep && Number(folderStep[1]) !== manifest.step) {
    throw new Unusable(`${manifestFile} says step ${manifest.step} but sits in ${path.basename(candidate.folder)}`);
  }
  const expected = weightDataBytes(manifest.specs);
  if (manifest.tensors && manifest.tensors.bytes !== expected) {
    throw new Unusable(`${manifestFile}: tensors.bytes is ${manifest.tensors.bytes}, its specs need ${expected}`);
  }
  const tensorsStat = await fsx.lstat(tensorsFile).catch(() => null);
  if (!tensorsStat?.isFile()) throw new Unusable(`${tensorsFile} is missing`);
  if (tensorsStat.size !== expected) throw new Unusable(`${tensorsFile} holds ${tensorsStat.size} bytes, expected ${expected}`);
  if (!verify) return { manifest, bytes: null };
  let bytes: Buffer;
  try {
    bytes = await fsx.readFile(tensorsFile);
  } catch (error) {
    throw new Unusable(`${tensorsFile} cannot be read (${describeFsError(error)})`);
  }
  if (bytes.byteLength !== expected) throw new Unusable(`${tensorsFile} holds ${bytes.byteLength} bytes, expected ${expected}`);
  if (manifest.tensors && sha256Hex(bytes) !== manifest.tensors.sha256) {
    throw new Unusable(`${tensorsFile} does not match the SHA-256 in ${MANIFEST} (the file is corrupt)`);
  }
  return { manifest, bytes };
}

/**
 * Walks the candidates newest first and returns the first usable one with notes on the newer
 * ones skipped; null when the run has no checkpoint at all. Throws CheckpointError when there
 * are checkpoints but none is usable: silently starting over would lose the run.
 */
async function newestUsable(
  runDir: string,
  verify: boolean,
  fsx: FolderFs,
): Promise<{ manifest: Manifest; bytes: Buffer | null; folder: string; notes: string[] } | null> {
  const candidates = await listCandidates(runDir, fsx);
  const problems: string[] = [];
  for (const candidate of candidates) {
    try {
      const { manifest, bytes } = await readCandidate(candidate, verify, fsx);
      const notes = problems.map((problem) => `Skipped a newer checkpoint: ${problem}; using the one at step ${manifest.step}.`);
      if (candidate.legacy && verify) {
        notes.push(`The checkpoint at step ${manifest.step} (${candidate.folder}) was written by an earlier version without a SHA-256; it was not verified.`);
      }
      return { manifest, bytes, folder: candidate.folder, notes };
    } catch (error) {
      if (!(error instanceof Unusable)) throw error;
      problems.push(error.message);
    }
  }
  if (candidates.length === 0) return null;
  throw new CheckpointError(
    `${runDir} has no usable checkpoint: ${problems.join('; ')}. ` +
      `Delete ${checkpointsDir(runDir)} to start this run afresh, or train into another run folder.`,
  );
}

/** The step and settings of a run's latest checkpoint (sizes checked, hash not): for listing runs. */
export interface CheckpointInfo {
  step: number;
  totalSteps: number;
  savedAt: string;
  settings: RunSettings;
}

/**
 * The newest checkpoint whose manifest validates and whose tensors file has the right size,
 * without reading the tensors (listing many runs stays cheap); null when none is usable.
 * loadCheckpoint also verifies the hash, so it may fall back further.
 */
export async function readCheckpointInfo(runDir: string, fsx: FolderFs = nodeFolderFs): Promise<CheckpointInfo | null> {
  let found: Awaited<ReturnType<typeof newestUsable>>;
  try {
    found = await newestUsable(runDir, false, fsx);
  } catch (error) {
    if (error instanceof CheckpointError) return null;
    throw error;
  }
  if (!found) return null;
  const { manifest } = found;
  return { step: manifest.step, totalSteps: manifest.settings.totalSteps, savedAt: manifest.savedAt, settings: manifest.settings };
}

/**
 * What listing a run needs to know of its checkpoints: the newest usable one (as
 * readCheckpointInfo), none at all (null), or why the ones it has are unusable.
 */
export async function inspectCheckpoint(runDir: string, fsx: FolderFs = nodeFolderFs): Promise<{ info: CheckpointInfo } | { problem: string } | null> {
  try {
    const found = await newestUsable(runDir, false, fsx);
    if (!found) return null;
    const { manifest } = found;
    return { info: { step: manifest.step, totalSteps: manifest.settings.totalSteps, savedAt: manifest.savedAt, settings: manifest.settings } };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

export interface LoadedCheckpoint extends CheckpointState {
  /** The folder it was read from. */
  folder: string;
  /** What the reader skipped or could not verify, for the user. */
  notes: string[];
}

/**
 * Reads a run's newest complete, verified checkpoint, or null when the run has none yet.
 * Tensors belong to the caller.
 */
export async function loadCheckpoint(runDir: string, fsx: FolderFs = nodeFolderFs): Promise<LoadedCheckpoint | null> {
  const found = await newestUsable(runDir, true, fsx);
  if (!found) return null;
  const { manifest, bytes, folder, notes } = found;
  const buffer = bytes!.buffer.slice(bytes!.byteOffset, bytes!.byteOffset + bytes!.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(buffer, manifest.specs);
  const take = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => {
      const tensor = map[`${prefix}/${i}`];
      if (!tensor) {
        tf.dispose(Object.values(map));
        throw new CheckpointError(`${path.join(folder, MANIFEST)}: tensor ${prefix}/${i} is missing`);
      }
      return tensor;
    });
  return {
    step: manifest.step,
    settings: manifest.settings,
    weights: take('weights', manifest.counts.weights),
    averages: take('averages', manifest.counts.averages),
    optimizer: manifest.specs
      .filter((s) => s.name.startsWith('optimizer/'))
      .map((s) => ({ name: s.name.slice('optimizer/'.length), tensor: map[s.name] })),
    folder,
    notes,
  };
}

/**
 * Saves a checkpoint as `<run>/checkpoints/step-<step>` (see the module comment), then prunes
 * to the newest CHECKPOINTS_KEPT. An existing, verified checkpoint of the same step is kept as
 * it is. On failure the CheckpointError names the folder and which checkpoint is still intact.
 */
export async function saveCheckpoint(runDir: string, state: CheckpointState, fsx: FolderFs = nodeFolderFs): Promise<void> {
  const dir = checkpointsDir(runDir);
  const name = stepFolderName(state.step);
  const target = path.join(dir, name);
  const named: NamedTensor[] = [
    ...state.weights.map((tensor, i) => ({ name: `weights/${i}`, tensor })),
    ...state.averages.map((tensor, i) => ({ name: `averages/${i}`, tensor })),
    ...state.optimizer.map(({ name, tensor }) => ({ name: `optimizer/${name}`, tensor })),
  ];
  const { data, specs } = await tf.io.encodeWeights(named);
  const tensors = new Uint8Array(data);
  const manifest: Manifest = {
    format: FORMAT,
    step: state.step,
    settings: state.settings,
    savedAt: new Date().toISOString(),
    counts: { weights: state.weights.length, averages: state.averages.length, optimizer: state.optimizer.length },
    specs: specs as Manifest['specs'],
    tensors: { bytes: tensors.byteLength, sha256: sha256Hex(tensors) },
  };

  let intact: number | null = null;
  let committed = false;
  try {
    const existing = await listCandidates(runDir, fsx);
    intact = existing.length > 0 ? ((await readCheckpointInfo(runDir, fsx))?.step ?? null) : null;
    await fsx.mkdirp(dir);
    for (const stale of new Set((await fsx.readdir(dir)).map((n) => /^(step-\d+)\.tmp-/.exec(n)?.[1]).filter(Boolean))) {
      await removeStaleTemps(dir, stale!, fsx, true);
    }
    if (await fsx.lstat(target)) {
      const same = await readCandidate({ folder: target, legacy: false }, true, fsx).then(
        () => true,
        () => false,
      );
      // Same step, complete and verified (a resumed run stopped before its next step): keep it.
      if (same) committed = true;
      // Unusable: set it aside as a stale temp (removed by the next save), never deleted first.
      else await fsx.rename(target, `${target}.tmp-${newTag()}`);
    }
    if (!committed) {
      const temp = await writeTempFolder(target, { [MANIFEST]: JSON.stringify(manifest, null, 1), [TENSORS]: tensors }, newTag(), fsx);
      try {
        await fsx.rename(temp, target);
      } finally {
        releaseTemp(temp);
      }
      committed = true;
      await fsx.syncDirectory(dir);
    }
    await prune(runDir, state.step, fsx);
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    const safe = committed
      ? `the checkpoint at step ${state.step} is complete`
      : intact !== null
        ? `the checkpoint at step ${intact} is intact`
        : 'no earlier checkpoint exists, so a rerun starts this run afresh';
    throw new CheckpointError(`Could not write the checkpoint at step ${state.step} in ${dir} (${describeFsError(error)}); ${safe}.`);
  }
}

/**
 * Keeps the checkpoint just written and the newest complete, verified one before it (a corrupt
 * one is no backup). Numbered folders beyond it were skipped as unusable when this run resumed;
 * earlier versions' folders are superseded.
 */
async function prune(runDir: string, step: number, fsx: FolderFs): Promise<void> {
  const dir = checkpointsDir(runDir);
  const steps = (await fsx.readdir(dir))
    .map((n) => STEP_FOLDER.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  const kept = [step];
  for (const older of steps.filter((s) => s < step)) {
    if (kept.length >= CHECKPOINTS_KEPT) break;
    const usable = await readCandidate({ folder: path.join(dir, stepFolderName(older)), legacy: false }, true, fsx).then(
      () => true,
      (error: unknown) => {
        if (error instanceof Unusable) return false;
        throw error;
      },
    );
    if (usable) kept.push(older);
  }
  // Unusable ones between the two go too; anything older than the backup is superseded.
  for (const s of steps) if (!kept.includes(s)) await fsx.remove(path.join(dir, stepFolderName(s)));
  for (const legacy of LEGACY_FOLDERS) await fsx.remove(path.join(runDir, legacy));
  await removeStaleTemps(runDir, LEGACY_FOLDERS[0], fsx, true);
}
