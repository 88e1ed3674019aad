/**
 * Writing a folder of files so that a crash at any moment leaves a complete folder to read, and
 * never deletes the last good copy before the new one is in place:
 *
 *   1. the files go into a sibling `<dir>.tmp-<pid>-<hex>` folder and are fsynced;
 *   2. an existing `<dir>` is moved aside to `<dir>.prev-<pid>-<hex>` (same tag);
 *   3. the temp folder is renamed to `<dir>`, and only then is the previous copy removed.
 *
 * A crash between 2 and 3 leaves no `<dir>`, but a `.prev-` folder whose twin `.tmp-` folder (same
 * tag) is known to be complete: readableFolder() returns that twin, or the previous copy. Temp
 * folders of writers that are gone (dead pid) are removed on the next write. Only names of these
 * exact shapes are ever removed: a user's `<dir>.old` is never touched.
 *
 * Single files (run records, histories, the current-model note) go the simpler way: temp file,
 * fsync, rename (writeFileAtomically).
 *
 * All file-system steps go through a FolderFs, so tests can inject a crash at any of them.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';

export type FolderFiles = Record<string, Uint8Array | string>;

/** The file-system steps of a folder write; every one of them is a point where a crash can happen. */
export interface FolderFs {
  mkdirp(dir: string): Promise<void>;
  /** Writes and fsyncs a file. */
  writeFileSynced(file: string, contents: Uint8Array | string): Promise<void>;
  /** Makes renames inside `dir` durable (best effort where directories cannot be opened). */
  syncDirectory(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or a folder tree; a missing one is fine. */
  remove(target: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  /** lstat, or null when nothing is there. */
  lstat(target: string): Promise<Stats | null>;
  readFile(file: string): Promise<Buffer>;
}

export const nodeFolderFs: FolderFs = {
  async mkdirp(dir) {
    await fs.mkdir(dir, { recursive: true });
  },
  async writeFileSynced(file, contents) {
    const handle = await fs.open(file, 'w');
    try {
      await handle.writeFile(contents);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async syncDirectory(dir) {
    // Not every platform lets a directory be opened (Windows): skip there.
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(dir, 'r');
    } catch {
      return;
    }
    try {
      await handle.sync();
    } catch {
      /* best effort */
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => fs.rename(from, to),
  remove: (target) => fs.rm(target, { recursive: true, force: true }),
  readdir: (dir) => fs.readdir(dir),
  async lstat(target) {
    try {
      return await fs.lstat(target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  },
  readFile: (file) => fs.readFile(file),
};

/** A folder write that failed; the message names the folder and says what is still safe. */
export class FolderWriteError extends Error {
  override name = 'FolderWriteError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** True when `dir` is missing or an empty directory. */
export async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** `message (CODE)` of a file-system error, for messages that say what went wrong without a stack. */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ENOSPC') return 'no space left on the disk';
  if (code === 'EDQUOT') return 'disk quota exceeded';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the disk is read-only';
  return message;
}

/** Replaces `file` with `contents` through a synced temp file and a rename: a reader never sees half a file. */
export async function writeFileAtomically(file: string, contents: Uint8Array | string, fsx: FolderFs = nodeFolderFs): Promise<void> {
  const temp = `${file}.tmp-${newTag()}`;
  try {
    await fsx.writeFileSynced(temp, contents);
    await fsx.rename(temp, file);
  } catch (error) {
    await fsx.remove(temp).catch(() => undefined);
    throw error;
  }
  await fsx.syncDirectory(path.dirname(path.resolve(file)));
}

/** `value` as JSON, written with writeFileAtomically. */
export async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await writeFileAtomically(file, JSON.stringify(value));
}

/** Temp folders of writes in progress in this process (never stale, whatever their pid says). */
const activeTemps = new Set<string>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A fresh `<pid>-<hex>` tag for temp and previous-copy names. */
export function newTag(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The sibling names this module uses for `base`, and whether a name is one of them. */
function siblingPattern(base: string, kind: 'tmp' | 'prev'): RegExp {
  // Older versions used `<base>.tmp-<8 hex>` without a pid: those are always stale.
  return new RegExp(`^${escapeRegExp(base)}\\.${kind}-(?:(\\d+)-)?([0-9a-f]{8})$`);
}

/**
 * Removes `<base>.tmp-*` folders in `parent` left by writers that are gone (a dead pid, or an
 * older version's name); returns the names removed. A write of this process in progress is kept,
 * and so is a complete temp folder whose previous copy was moved aside (the newest copy after a
 * crash between the renames) unless `twinsToo`.
 */
export async function removeStaleTemps(
  parent: string,
  base: string,
  fsx: FolderFs = nodeFolderFs,
  twinsToo = false,
): Promise<string[]> {
  const pattern = siblingPattern(base, 'tmp');
  let names: string[];
  try {
    names = await fsx.readdir(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match) continue;
    const full = path.join(parent, name);
    if (activeTemps.has(full)) continue;
    const pid = match[1] === undefined ? null : Number(match[1]);
    if (pid !== null && pid !== process.pid && isAlive(pid)) continue;
    if (!twinsToo && names.includes(`${base}.prev-${name.slice(base.length + '.tmp-'.length)}`)) continue;
    await fsx.remove(full);
    removed.push(name);
  }
  return removed;
}

/** Writes `files` into a fresh temp folder beside `dir`, fsynced; returns its path. */
export async function writeTempFolder(dir: string, files: FolderFiles, tag: string, fsx: FolderFs): Promise<string> {
  const temp = `${dir}.tmp-${tag}`;
  activeTemps.add(temp);
  try {
    await fsx.mkdirp(temp);
    for (const [name, contents] of Object.entries(files)) await fsx.writeFileSynced(path.join(temp, name), contents);
    await fsx.syncDirectory(temp);
    return temp;
  } catch (error) {
    activeTemps.delete(temp);
    await fsx.remove(temp).catch(() => undefined);
    throw error;
  }
}

export function releaseTemp(temp: string): void {
  activeTemps.delete(temp);
}

export interface WriteFolderOptions {
  /**
   * Whether a non-empty existing `dir` (given its file names) may be replaced. Without it only a
   * missing or empty folder is. A file, a symbolic link or a device at `dir` is never replaced.
   */
  replaceable?: (names: string[]) => boolean;
  /** What `dir` holds, for messages ("model folder"). */
  what?: string;
  fs?: FolderFs;
}

/**
 * Why `dir` may not be replaced by a folder, or null when it may: it is missing, an empty folder,
 * or a folder whose file names `replaceable` accepts.
 */
export async function replaceRefusal(dir: string, options: WriteFolderOptions = {}): Promise<string | null> {
  const fsx = options.fs ?? nodeFolderFs;
  const what = options.what ?? 'folder';
  const stat = await fsx.lstat(dir);
  if (!stat) return null;
  if (stat.isSymbolicLink()) return `${dir} is a symbolic link; name the ${what} itself`;
  if (!stat.isDirectory()) return `${dir} is a file, not a ${what}; it is never replaced`;
  const names = await fsx.readdir(dir);
  if (names.length === 0 || options.replaceable?.(names)) return null;
  const listed = names.slice(0, 3).join(', ') + (names.length > 3 ? ', ...' : '');
  return `${dir} holds other files (${listed}); only an empty folder or a previous ${what} is replaced`;
}

/**
 * Replaces `dir` with a folder holding exactly `files` (see the module comment); its parent is
 * created if needed. Refuses (nothing changed) when `dir` is a file, a link, or a folder that
 * `options.replaceable` does not accept.
 */
export async function writeFolderAtomically(dir: string, files: FolderFiles, options: WriteFolderOptions = {}): Promise<void> {
  const fsx = options.fs ?? nodeFolderFs;
  const what = options.what ?? 'folder';
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const base = path.basename(target);
  const fail = (error: unknown, safe: string): never => {
    if (error instanceof FolderWriteError) throw error;
    throw new FolderWriteError(`Could not write ${dir} (${describeFsError(error)}); ${safe}`, (error as NodeJS.ErrnoException).code);
  };

  const refusal = await replaceRefusal(target, options);
  if (refusal) throw new FolderWriteError(`${refusal}. Nothing was changed.`);
  const hadPrevious = (await fsx.lstat(target)) !== null;
  const unchanged = hadPrevious ? `the previous ${what} is unchanged` : 'nothing was written';
  try {
    await fsx.mkdirp(parent);
    await removeStaleTemps(parent, base, fsx);
  } catch (error) {
    fail(error, unchanged);
  }
  const tag = newTag();
  let temp: string;
  try {
    temp = await writeTempFolder(target, files, tag, fsx);
  } catch (error) {
    return fail(error, unchanged);
  }
  const previous = `${target}.prev-${tag}`;
  try {
    if (hadPrevious) {
      try {
        await fsx.rename(target, previous);
      } catch (error) {
        await fsx.remove(temp).catch(() => undefined);
        fail(error, unchanged);
      }
    }
    try {
      await fsx.rename(temp, target);
    } catch (error) {
      // Put the previous copy back; if even that fails, readableFolder() still finds it.
      if (hadPrevious) await fsx.rename(previous, target).catch(() => undefined);
      fail(error, hadPrevious ? `the previous ${what} is kept (at ${target} or ${previous})` : unchanged);
    }
  } finally {
    releaseTemp(temp);
  }
  try {
    await fsx.syncDirectory(parent);
    // The new folder is in place: every previous copy of this and earlier crashed writes can go.
    const prevPattern = siblingPattern(base, 'prev');
    for (const name of await fsx.readdir(parent)) if (prevPattern.test(name)) await fsx.remove(path.join(parent, name));
    await removeStaleTemps(parent, base, fsx, true);
  } catch (error) {
    fail(error, `the new ${what} is complete at ${dir}`);
  }
}

/**
 * The folder to read for `dir`: `dir` itself, or after a crash between the two renames of
 * writeFolderAtomically the new copy (when it is known to be complete) or else the previous one.
 * Null when there is none.
 */
export async function readableFolder(dir: string, fsx: FolderFs = nodeFolderFs): Promise<string | null> {
  const target = path.resolve(dir);
  if (await fsx.lstat(target)) return dir;
  const parent = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = await fsx.readdir(parent);
  } catch {
    return null;
  }
  const prevPattern = siblingPattern(base, 'prev');
  const candidates: { folder: string; mtimeMs: number }[] = [];
  for (const name of names) {
    const match = prevPattern.exec(name);
    if (!match) continue;
    const tag = match[1] === undefined ? match[2] : `${match[1]}-${match[2]}`;
    // The previous copy is only moved aside once its twin temp folder is complete.
    const twin = `${base}.tmp-${tag}`;
    const folder = names.includes(twin) ? twin : name;
    const stat = await fsx.lstat(path.join(parent, folder));
    if (stat?.isDirectory()) candidates.push({ folder: path.join(parent, folder), mtimeMs: stat.mtimeMs });
  }
  candidates.sort((a, b) => b.mtimeMs - a.mtimeMs);
  return candidates[0]?.folder ?? null;
}
