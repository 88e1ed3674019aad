/** Option parsing shared by the subcommands: numbers with limits, the backend, the data set. */
import path from 'node:path';
import { currentModelDir, defaultWorkspaceDir } from '../app/workspace.ts';
import { selectBackend, isBackendName, type BackendChoice } from '../ml/backend.ts';
import type { MnistSplits } from '../ml/dataset.ts';
import { describeFolder, readLabelledFolder, type LabelledFolder } from '../ml/labelledFolder.ts';
import { loadMnist } from '../ml/mnist.ts';
import { loadModelFolder, type LoadedModel } from '../ml/modelFolder.ts';
import { UsageError } from './errors.ts';

/** Parsed command-line flags, by name without the dashes. */
export type Flags = Record<string, string | boolean | undefined>;

/** What a command's module exports; its summary and flags are in commands.ts. */
export interface Command {
  run: (flags: Flags, positionals: string[]) => Promise<number>;
}

export function stringFlag(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredString(flags: Flags, name: string): string {
  const value = stringFlag(flags, name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

/** A whole number within [min, max], or undefined when the flag is absent. */
export function intFlag(flags: Flags, name: string, min: number, max: number): number | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${raw}'`);
  }
  return value;
}

/** A number in (min, max], or undefined when the flag is absent. */
export function numberFlag(flags: Flags, name: string, min: number, max: number): number | undefined {
  const raw = stringFlag(flags, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= min || value > max) {
    throw new UsageError(`--${name} must be a number above ${min} and at most ${max}, not '${raw}'`);
  }
  return value;
}

/**
 * Activates the backend asked for (or the best available) and says which one on standard error,
 * so standard output stays clean for --json.
 */
export async function openBackend(flags: Flags): Promise<BackendChoice> {
  const wanted = stringFlag(flags, 'backend');
  if (wanted !== undefined && !isBackendName(wanted)) {
    throw new UsageError(`--backend must be native, wasm or cpu, not '${wanted}'`);
  }
  const choice = await selectBackend(wanted);
  console.error(`Backend: ${choice.name} (${choice.reason})`);
  return choice;
}

export async function openData(flags: Flags): Promise<MnistSplits> {
  return loadMnist({ dir: stringFlag(flags, 'data') });
}

/** --workspace, absolute; default: the per-user folder shared with the desktop app. */
export function workspaceFlag(flags: Flags): string {
  return path.resolve(stringFlag(flags, 'workspace') ?? defaultWorkspaceDir());
}

/**
 * --model, or else the current model of the workspace (the one the app last trained or imported),
 * so `digits test` and `digits predict` use what the app shows.
 */
export async function modelDirFlag(flags: Flags): Promise<string> {
  const given = stringFlag(flags, 'model');
  if (given !== undefined && given !== '') return given;
  const workspace = workspaceFlag(flags);
  const dir = await currentModelDir(workspace);
  if (dir === null) throw new UsageError(`--model is required: the workspace ${workspace} has no current model yet (train or import one in the app)`);
  console.error(`Model: ${dir} (the current model of ${workspace})`);
  return dir;
}

/** Loads a model folder (checked as untrusted input) and says on standard error what the user should know about it. */
export async function openModel(dir: string): Promise<LoadedModel> {
  const loaded = await loadModelFolder(dir);
  for (const note of loaded.notes) console.error(`Note: ${note}`);
  return loaded;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** Where preprocessed pictures are cached: $DIGITS_CACHE_DIR, else the default workspace's cache folder. */
export function pictureCacheDir(): string {
  return process.env.DIGITS_CACHE_DIR || path.join(defaultWorkspaceDir(), 'cache', 'pictures');
}

/**
 * Reads a labelled picture folder, saying what was read (as a JSON line with `json`): counts per
 * digit, every file that failed with its error, and the files ignored.
 */
export async function openPictures(dir: string, json: boolean, say: (line: string) => void = console.log): Promise<LabelledFolder> {
  const folder = await readLabelledFolder(dir, { cacheDir: pictureCacheDir() });
  if (json) {
    printJson({
      type: 'images',
      folder: folder.dir,
      count: folder.pictures.count,
      perDigit: folder.perDigit,
      fromCache: folder.fromCache,
      failed: folder.failed,
      ignored: folder.ignored,
    });
  } else {
    say(`Read ${describeFolder(folder)} from ${folder.dir}.`);
    for (const failure of folder.failed) say(`  could not read ${failure.file}: ${failure.error}`);
    if (folder.ignored.length) {
      const shown = folder.ignored.slice(0, 5).map((i) => `${i.file} (${i.reason})`);
      say(`  ignored: ${shown.join(', ')}${folder.ignored.length > 5 ? ', ...' : ''}`);
    }
  }
  return folder;
}
