/**
 * The runs of a workspace, `<workspace>/runs/<runId>/`, as one list: every folder there, whether
 * the app started it or `digits train --run <workspace>/runs/<name>` did. A run folder may hold
 *
 *   run.json          what the app was asked for (app runs only)
 *   label.json        the user's name and note for the run (written by rename / note)
 *   checkpoints/      the trainer's resumable state (manifests are read, never the tensors)
 *   history.json      curves and training time (read only when the model's metadata lacks them)
 *   model/            the model of a finished or stopped run, with metadata.json
 *   start-model/      a fine-tune's own copy of the model it started from (app runs; resumes use it)
 *
 * Listing reads only those small JSON files, all runs in parallel, so a workspace of hundreds of
 * runs lists in well under a second. A run whose files are unreadable or half-written is listed
 * as damaged with the reason, never dropped, and never makes the list fail.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomically } from './atomicFolder.ts';
import { inspectCheckpoint, type CheckpointInfo } from './checkpoint.ts';
import { METADATA_JSON, MODEL_JSON, WEIGHTS_BIN, type ModelMetadata } from './modelFolder.ts';
import { RUN_LIMITS } from './limits.ts';
import { isPresetName } from './models.ts';
import { bestValidationAccuracy, readHistory } from './runHistory.ts';
import { RUN_MODEL_FOLDER } from './runs.ts';
import type { RunData, RunSettingsInfo, RunStatus, RunSummary } from './types.ts';

export const RUNS_FOLDER = 'runs';
export const RUN_RECORD_FILE = 'run.json';
export const RUN_LABEL_FILE = 'label.json';

/** A run id names a folder under <workspace>/runs: letters, digits, '.', '_' and '-', no path. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function runsDir(workspaceDir: string): string {
  return path.join(workspaceDir, RUNS_FOLDER);
}

export interface RunLabel {
  name?: string;
  note?: string;
}

/** The outcome of reading one small JSON file: absent, unreadable (with why), or its value. */
type JsonRead = { kind: 'missing' } | { kind: 'bad'; why: string } | { kind: 'ok'; value: unknown };

async function readJsonFile(file: string): Promise<JsonRead> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'bad', why: `cannot be read (${code ?? (error as Error).message})` };
  }
  try {
    return { kind: 'ok', value: JSON.parse(text) };
  } catch {
    return { kind: 'bad', why: text.length === 0 ? 'is empty (half-written?)' : 'is not valid JSON (half-written?)' };
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

export async function readRunLabel(runDir: string): Promise<RunLabel> {
  const read = await readJsonFile(path.join(runDir, RUN_LABEL_FILE));
  if (read.kind !== 'ok' || !isObject(read.value)) return {};
  return { name: str(read.value.name) ?? undefined, note: str(read.value.note) ?? undefined };
}

/** Sets the run's name and/or note (an empty name goes back to the folder name). */
export async function writeRunLabel(runDir: string, change: RunLabel): Promise<RunLabel> {
  const label = { ...(await readRunLabel(runDir)), ...change };
  if (label.name !== undefined) label.name = label.name.trim().slice(0, RUN_LIMITS.maxNameLength);
  if (label.note !== undefined) label.note = label.note.slice(0, RUN_LIMITS.maxNoteLength);
  if (label.name === '') delete label.name;
  await writeJsonAtomically(path.join(runDir, RUN_LABEL_FILE), label);
  return label;
}

/**
 * What the model's metadata says the run was trained on (`trainedOn`: MNIST, labelled pictures,
 * the model it was fine-tuned from); MNIST when it says nothing (runs before it was recorded).
 */
function dataOf(metadata: Record<string, unknown> | null, trainCount: number | null): RunData {
  const trainedOn = isObject(metadata?.trainedOn) ? metadata.trainedOn : null;
  const mnist = trainedOn && isObject(trainedOn.mnist) ? trainedOn.mnist : null;
  const pictures = trainedOn && isObject(trainedOn.pictures) ? trainedOn.pictures : null;
  const base = trainedOn && isObject(trainedOn.fineTunedFrom) ? trainedOn.fineTunedFrom : null;
  const mine = pictures ? `my digits${str(pictures.folder) ? ` (${str(pictures.folder)})` : ''}` : null;
  const label = mine ? (mnist ? `MNIST + ${mine}` : mine) : 'MNIST';
  const count = pictures ? (num(pictures.trainCount) ?? 0) + (mnist ? (num(mnist.count) ?? 0) : 0) : (num(mnist?.count) ?? trainCount);
  const fineTunedFrom = base ? [str(base.folder), str(base.preset) ? `(${str(base.preset)})` : null].filter(Boolean).join(' ') || null : null;
  const heldOut = pictures ? { count: num(pictures.heldOutCount) ?? 0, share: num(pictures.holdout) } : null;
  return { label, trainCount: count || trainCount, fineTunedFrom, heldOut };
}

function settingsOf(checkpoint: CheckpointInfo | null, request: Record<string, unknown> | null): RunSettingsInfo | null {
  if (!checkpoint) return null;
  const s = checkpoint.settings;
  if (!isPresetName(String(s.preset))) return null;
  return {
    preset: s.preset,
    totalSteps: s.totalSteps,
    batchSize: s.batchSize,
    learningRate: s.learningRate,
    trainCount: s.trainCount,
    seed: s.seed,
    epochs: num(request?.epochs),
    stepsPerEpoch: Math.ceil(s.trainCount / Math.max(1, s.batchSize)),
  };
}

async function modifiedAt(dir: string): Promise<string> {
  try {
    return (await fs.stat(dir)).mtime.toISOString();
  } catch {
    return new Date(0).toISOString();
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads one run folder into a RunSummary. Never throws: whatever cannot be read makes the run
 * damaged, with the reason in `problem`.
 */
export async function readRunSummary(runDir: string, runId: string, activeRunId: string | null = null): Promise<RunSummary> {
  const problems: string[] = [];
  if (!RUN_ID_PATTERN.test(runId)) problems.push(`the folder name '${runId}' cannot name a run (use letters, digits, '.', '_' and '-')`);
  const modelDir = path.join(runDir, RUN_MODEL_FOLDER);
  const [record, labelRead, inspected, metadataRead, hasModelJson, hasWeights] = await Promise.all([
    readJsonFile(path.join(runDir, RUN_RECORD_FILE)),
    readJsonFile(path.join(runDir, RUN_LABEL_FILE)),
    inspectCheckpoint(runDir).catch((error: unknown) => ({ problem: error instanceof Error ? error.message : String(error) })),
    readJsonFile(path.join(modelDir, METADATA_JSON)),
    isFile(path.join(modelDir, MODEL_JSON)),
    isFile(path.join(modelDir, WEIGHTS_BIN)),
  ]);

  if (record.kind === 'bad') problems.push(`${RUN_RECORD_FILE} ${record.why}`);
  const request = record.kind === 'ok' && isObject(record.value) && isObject(record.value.request) ? record.value.request : null;
  if (record.kind === 'ok' && !request) problems.push(`${RUN_RECORD_FILE} does not say what the run was asked for`);
  const label = labelRead.kind === 'ok' && isObject(labelRead.value) ? labelRead.value : {};
  const checkpoint: CheckpointInfo | null = inspected && 'info' in inspected ? inspected.info : null;
  if (inspected && 'problem' in inspected) problems.push(`its checkpoints are unusable (${inspected.problem})`);

  let metadata: Record<string, unknown> | null = null;
  if (metadataRead.kind === 'ok' && isObject(metadataRead.value)) metadata = metadataRead.value;
  else if (metadataRead.kind === 'ok') problems.push(`model/${METADATA_JSON} is not a metadata object`);
  else if (metadataRead.kind === 'bad') problems.push(`model/${METADATA_JSON} ${metadataRead.why}`);
  const modelFiles = [hasModelJson, hasWeights, metadataRead.kind !== 'missing'].filter(Boolean).length;
  if (modelFiles > 0 && modelFiles < 3 && (hasModelJson || hasWeights)) {
    const missing = [!hasModelJson && MODEL_JSON, !hasWeights && WEIGHTS_BIN].filter(Boolean).join(' and ');
    if (missing) problems.push(`its model folder is incomplete (${missing} missing)`);
  }
  const hasModel = hasModelJson && hasWeights;
  if (!checkpoint && !hasModel && problems.length === 0) {
    problems.push(
      record.kind === 'ok'
        ? 'no checkpoint or model: it ended before its first checkpoint'
        : 'not a run folder: no run.json, checkpoint or model',
    );
  }

  const meta = metadata as (Partial<ModelMetadata> & Record<string, unknown>) | null;
  const training = isObject(meta?.training) ? meta.training : null;
  const metaStep = num(meta?.step) ?? num(training?.steps);
  const step = checkpoint?.step ?? metaStep ?? 0;
  const totalSteps = checkpoint?.totalSteps ?? num(meta?.totalSteps) ?? metaStep ?? 0;
  const metaStatus = meta?.status === 'finished' || meta?.status === 'stopped' ? meta.status : null;
  // The model belongs to the checkpoint when it was written at the same step.
  const modelIsCurrent = hasModel && (metaStep === null || checkpoint === null || metaStep === checkpoint.step);

  let status: RunStatus;
  if (runId === activeRunId) status = 'running';
  else if (problems.length > 0) status = 'damaged';
  else if (modelIsCurrent && metaStatus) status = metaStatus;
  else if (modelIsCurrent && step >= totalSteps) status = 'finished';
  else status = 'interrupted';

  const needsHistory = status !== 'damaged' && (num(meta?.wallSeconds) === null || num(meta?.bestValidationAccuracy) === null);
  const history = needsHistory ? await readHistory(runDir) : null;
  const historyBest = history ? bestValidationAccuracy(history.epochs) : null;
  const historySeconds = history ? (num(history.seconds) ?? (history.epochs.length > 0 ? history.epochs.reduce((sum, e) => sum + e.seconds, 0) : null)) : null;

  const test = isObject(meta?.test) ? meta.test : null;
  const settings = settingsOf(checkpoint, request);
  const preset = settings?.preset ?? (isPresetName(String(meta?.preset)) ? (meta!.preset as RunSummary['preset']) : null);
  const createdAt = (record.kind === 'ok' && isObject(record.value) ? str(record.value.createdAt) : null) ?? null;
  const updatedAt = checkpoint?.savedAt ?? str(meta?.createdAt) ?? createdAt ?? (await modifiedAt(runDir));

  return {
    runId,
    name: str(label.name) || runId,
    note: str(label.note) ?? '',
    preset,
    settings,
    data: dataOf(meta, settings?.trainCount ?? num(training?.trainCount)),
    status,
    problem: problems.length > 0 ? problems.join('; ') : null,
    step,
    totalSteps,
    wallSeconds: num(meta?.wallSeconds) ?? historySeconds,
    backend: str(meta?.backend) ?? history?.backend ?? null,
    bestValidationAccuracy: num(meta?.bestValidationAccuracy) ?? historyBest,
    testAccuracy: num(test?.accuracy),
    createdAt,
    updatedAt,
    modelDir: hasModel ? modelDir : null,
    origin: record.kind === 'missing' ? 'cli' : 'app',
    resumable: checkpoint !== null && status !== 'running' && status !== 'damaged' && (step < totalSteps || !modelIsCurrent),
  };
}

/** Entries of runs/ that are not runs: hidden files and the temp folders of atomic writes. */
function isScratch(name: string): boolean {
  return name.startsWith('.') || /\.tmp-[0-9a-z-]+$/i.test(name);
}

/**
 * Every run of the workspace, most recently updated first. `activeRunId` is the run training
 * now (listed as running, not resumable).
 */
export async function listRuns(workspaceDir: string, activeRunId: string | null = null): Promise<RunSummary[]> {
  const dir = runsDir(workspaceDir);
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const folders = entries.filter((e) => !isScratch(e.name) && (e.isDirectory() || e.isSymbolicLink()));
  const runs = await Promise.all(folders.map((e) => readRunSummary(path.join(dir, e.name), e.name, activeRunId)));
  return runs.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.runId.localeCompare(b.runId));
}

/** The curves of one run for comparing: its history, or an empty one when it has none. */
export async function readRunCurves(runDir: string): Promise<{ losses: [number, number][]; epochs: { epoch: number; step: number; validationAccuracy: number; validationLoss: number }[]; times: [number, number][] }> {
  const history = await readHistory(runDir);
  return {
    losses: history?.losses ?? [],
    epochs: (history?.epochs ?? []).map(({ epoch, step, validationAccuracy, validationLoss }) => ({ epoch, step, validationAccuracy, validationLoss })),
    times: history?.times ?? [],
  };
}

