/**
 * The current model of a workspace: the one the app shows, evaluates and predicts with. Replacing
 * it never pulls a model out from under an operation that is using it: the old one is retired and
 * disposed when its last user is done. Which model is current is remembered across restarts in
 * `<workspace>/current-model.json` (read by the CLI too: workspace.ts), written atomically.
 */
import type * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomically } from '../ml/atomicFolder.ts';
import { loadModelFolder, type ModelMetadata } from '../ml/modelFolder.ts';
import { isPresetName } from '../ml/models.ts';
import { runsDir } from '../ml/runList.ts';
import { RUN_MODEL_FOLDER } from '../ml/runs.ts';
import type { ModelInfo } from './contract.ts';
import { StudioError } from './errors.ts';
import { CURRENT_MODEL_FILE } from './workspace.ts';

export interface CurrentModel {
  info: ModelInfo;
  model: tf.LayersModel;
  metadata: ModelMetadata | null;
}

interface Entry extends CurrentModel {
  /** Operations using the model right now; a retired model is disposed when this drops to 0. */
  users: number;
  retired: boolean;
}

export interface CurrentModelOptions {
  workspaceDir: string;
  /** Awaited before any model is loaded (the backend must be chosen first). */
  beforeLoad?: () => Promise<unknown>;
  /** Loads a model folder; default: loadModelFolder. */
  loadFolder?: (dir: string) => Promise<{ model: tf.LayersModel; metadata: ModelMetadata | null; notes?: string[] }>;
  /** Told of each new current model (not of the one restored at start). */
  onChange?: (info: ModelInfo) => void;
}

interface SavedChoice {
  dir?: unknown;
  origin?: unknown;
}

/** The run id of a model folder that is `<workspace>/runs/<runId>/model`, else undefined. */
function runIdOf(workspaceDir: string, dir: string): string | undefined {
  const parts = path.relative(runsDir(path.resolve(workspaceDir)), path.resolve(dir)).split(path.sep);
  return parts.length === 2 && parts[1] === RUN_MODEL_FOLDER && parts[0] !== '..' && parts[0] !== '' ? parts[0] : undefined;
}

function modelInfoOf(dir: string, origin: ModelInfo['origin'], metadata: ModelMetadata | null, workspaceDir: string, notes: string[] = []): ModelInfo {
  const runId = runIdOf(workspaceDir, dir);
  return {
    origin,
    dir,
    name: runId ?? path.basename(dir),
    ...(runId !== undefined ? { runId } : {}),
    preset: metadata && isPresetName(String(metadata.preset)) ? metadata.preset : null,
    testAccuracy: typeof metadata?.test?.accuracy === 'number' ? metadata.test.accuracy : null,
    createdAt: typeof metadata?.createdAt === 'string' ? metadata.createdAt : null,
    ...(notes.length > 0 ? { notes } : {}),
  };
}

export class CurrentModelSlot {
  #entry: Entry | null = null;
  #restoreProblem: string | null = null;
  #restoring: Promise<void> | null = null;
  readonly #file: string;
  readonly #options: CurrentModelOptions;
  readonly #load: NonNullable<CurrentModelOptions['loadFolder']>;

  constructor(options: CurrentModelOptions) {
    this.#options = options;
    this.#file = path.join(options.workspaceDir, CURRENT_MODEL_FILE);
    this.#load = options.loadFolder ?? loadModelFolder;
  }

  /** The current model once the remembered one (if any) is restored; null when there is none. */
  async info(): Promise<ModelInfo | null> {
    await this.restore();
    return this.#entry?.info ?? null;
  }

  /** Whether `model` (as handed to a `use` callback) is still the current one. */
  isCurrent(model: CurrentModel): boolean {
    return this.#entry === model;
  }

  /** Loads the model that was current when the app last closed, once, if its folder still loads. */
  restore(): Promise<void> {
    this.#restoring ??= this.#restore();
    return this.#restoring;
  }

  /**
   * Why the remembered model was not restored (its folder is gone, or refused by the checks of
   * loadModelFolder: the folder may have changed since), or null. Start-up goes on without it.
   */
  async restoreProblem(): Promise<string | null> {
    await this.restore();
    return this.#restoreProblem;
  }

  async #restore(): Promise<void> {
    let saved: SavedChoice;
    try {
      saved = JSON.parse(await fs.readFile(this.#file, 'utf8')) as SavedChoice;
    } catch {
      return; // No model remembered (or an unreadable note): start without one.
    }
    if (this.#entry || typeof saved.dir !== 'string') return;
    const origin = saved.origin === 'imported' ? 'imported' : 'trained';
    try {
      await this.#options.beforeLoad?.();
      // The same checks as an import: the folder may have been changed since it was chosen.
      const loaded = await this.#load(saved.dir);
      if (this.#entry) {
        loaded.model.dispose();
        return;
      }
      this.#entry = { info: modelInfoOf(saved.dir, origin, loaded.metadata, this.#options.workspaceDir, loaded.notes), ...loaded, users: 0, retired: false };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#restoreProblem = `The model of the last session was not loaded, so there is no current model: ${reason}`;
    }
  }

  /** Runs `fn` with the current model, which stays alive until fn ends even if replaced meanwhile. */
  async use<T>(fn: (current: CurrentModel) => Promise<T> | T): Promise<T> {
    await this.restore();
    const entry = this.#entry;
    if (!entry) throw new StudioError('no-model', 'No model yet: train one or import a model folder first.');
    entry.users++;
    try {
      return await fn(entry);
    } finally {
      this.#release(entry);
    }
  }

  /** Loads a model folder and makes it the current model, remembered for the next start. */
  async replace(dir: string, origin: ModelInfo['origin']): Promise<ModelInfo> {
    await this.#options.beforeLoad?.();
    const loaded = await this.#load(dir);
    const info = modelInfoOf(path.resolve(dir), origin, loaded.metadata, this.#options.workspaceDir, loaded.notes);
    const previous = this.#entry;
    this.#entry = { info, ...loaded, users: 0, retired: false };
    if (previous) this.#retire(previous);
    await fs.mkdir(this.#options.workspaceDir, { recursive: true });
    // Losing the note only means starting without a model next time; the switch itself succeeded.
    await writeJsonAtomically(this.#file, { dir: path.resolve(dir), origin }).catch(() => undefined);
    this.#options.onChange?.(info);
    return info;
  }

  /** Lets go of the current model (disposed once unused); the remembered choice stays. */
  dispose(): void {
    if (this.#entry) this.#retire(this.#entry);
    this.#entry = null;
  }

  #retire(entry: Entry): void {
    entry.retired = true;
    entry.users++;
    this.#release(entry);
  }

  #release(entry: Entry): void {
    entry.users--;
    if (entry.retired && entry.users === 0) entry.model.dispose();
  }
}
