/**
 * The app's side of a workspace's runs (`<workspace>/runs/<runId>/`, see ml/runList.ts for the
 * folder layout): the run record the app writes when it starts a run (`run.json`, what was asked
 * for), fresh run ids, and the request that continues a run.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunSettings } from '../ml/checkpoint.ts';
import { isPresetName } from '../ml/models.ts';
import { writeJsonAtomically } from '../ml/atomicFolder.ts';
import { RUN_RECORD_FILE, listRuns, runsDir } from '../ml/runList.ts';
import type { TrainingRequest } from './contract.ts';

export { listRuns, runsDir };

export interface RunRecord {
  runId: string;
  request: TrainingRequest;
  createdAt: string;
  /**
   * The model folder a fine-tune started from (request.startFrom 'current'): the run's own copy,
   * `start-model` (relative to the run folder), so a resume never depends on a folder elsewhere.
   * Runs recorded before that name the current model's folder itself (absolute).
   */
  fromModelDir?: string;
  /** How the new model's metadata names the model it was fine-tuned from (its run, or its folder). */
  fromModelName?: string;
}

/** The run's copy of the model a fine-tune starts from. */
export const START_MODEL_FOLDER = 'start-model';

/** A fresh, sortable, filesystem-safe run id: `<preset>-20261125-191200-123`. */
export function newRunId(preset: string, date: Date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('T', '-').replace('.', '-').replace('Z', '');
  return `${preset}-${stamp}`;
}

export async function writeRunRecord(runDir: string, record: RunRecord): Promise<void> {
  await fs.mkdir(runDir, { recursive: true });
  await writeJsonAtomically(path.join(runDir, RUN_RECORD_FILE), record);
}

export async function readRunRecord(runDir: string): Promise<RunRecord | null> {
  try {
    const record = JSON.parse(await fs.readFile(path.join(runDir, RUN_RECORD_FILE), 'utf8')) as RunRecord;
    return record && typeof record.runId === 'string' && record.request && isPresetName(record.request.preset) ? record : null;
  } catch {
    return null;
  }
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
