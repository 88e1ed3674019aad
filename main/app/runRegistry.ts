/**
 * The runs of a workspace: `<workspace>/runs/<runId>/` holds `run.json` (what was asked for),
 * `checkpoints/` (the trainer's resumable state, see checkpoint.ts), `history.json` (the thinned loss curve and the
 * epoch results so far, for redrawing a resumed run) and, once finished, `model/`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomically } from '../ml/atomicFolder.ts';
import { readCheckpointInfo, type RunSettings } from '../ml/checkpoint.ts';
import { isPresetName } from '../ml/models.ts';
import type { RunSummary, TrainingEvent, TrainingRequest } from './contract.ts';
import { RUN_ID_PATTERN } from './validation.ts';

export const RUNS_FOLDER = 'runs';
const RUN_RECORD = 'run.json';
const HISTORY = 'history.json';

export interface RunRecord {
  runId: string;
  request: TrainingRequest;
  createdAt: string;
  /** The model folder a fine-tune started from (request.startFrom 'current'), as it was at the start. */
  fromModelDir?: string;
}

export interface RunHistory {
  losses: [number, number][];
  /** Absent in history files written before it was recorded. */
  learningRates?: [number, number][];
  epochs: Extract<TrainingEvent, { type: 'epoch' }>[];
}

export function runsDir(workspaceDir: string): string {
  return path.join(workspaceDir, RUNS_FOLDER);
}

/** A fresh, sortable, filesystem-safe run id: `<preset>-20261125-191200-123`. */
export function newRunId(preset: string, date: Date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '');
  return `${preset}-${stamp}`;
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

export async function writeRunRecord(runDir: string, record: RunRecord): Promise<void> {
  await fs.mkdir(runDir, { recursive: true });
  await writeJsonAtomically(path.join(runDir, RUN_RECORD), record);
}

export async function readRunRecord(runDir: string): Promise<RunRecord | null> {
  const record = await readJson<RunRecord>(path.join(runDir, RUN_RECORD));
  return record && typeof record.runId === 'string' && record.request && isPresetName(record.request.preset) ? record : null;
}

/** The request that continues a run that has no run.json (e.g. one trained by `digits train`). */
export function requestFromSettings(settings: RunSettings): TrainingRequest {
  return {
    preset: settings.preset,
    steps: settings.totalSteps,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    limit: settings.trainCount,
  };
}

export async function writeHistory(runDir: string, history: RunHistory): Promise<void> {
  await writeJsonAtomically(path.join(runDir, HISTORY), history);
}

export async function readHistory(runDir: string): Promise<RunHistory | null> {
  const history = await readJson<RunHistory>(path.join(runDir, HISTORY));
  return history && Array.isArray(history.losses) && Array.isArray(history.epochs) ? history : null;
}

/**
 * Every run with a checkpoint, most recently updated first. A run short of its total is
 * resumable unless it is the one training now (`activeRunId`).
 */
export async function listRuns(workspaceDir: string, activeRunId: string | null = null): Promise<RunSummary[]> {
  let names: string[];
  try {
    names = await fs.readdir(runsDir(workspaceDir));
  } catch {
    return [];
  }
  const runs: RunSummary[] = [];
  for (const runId of names) {
    if (!RUN_ID_PATTERN.test(runId)) continue;
    const runDir = path.join(runsDir(workspaceDir), runId);
    const checkpoint = await readCheckpointInfo(runDir);
    if (!checkpoint) continue;
    runs.push({
      runId,
      preset: checkpoint.settings.preset,
      step: checkpoint.step,
      totalSteps: checkpoint.totalSteps,
      updatedAt: checkpoint.savedAt,
      resumable: checkpoint.step < checkpoint.totalSteps && runId !== activeRunId,
    });
  }
  return runs.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}
