/**
 * Writing a folder of files so that a crash at any moment leaves either the old folder or the
 * new one, never a half-written mix: the files go into a sibling temp folder, are fsynced, and
 * the temp folder is renamed into place. The previous folder is kept as `<dir>.old` until the
 * new one is in place, so a reader can fall back to it after a crash between the two renames.
 * Single files (run records, histories, the current-model note) go the same way: temp file,
 * fsync, rename.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export type FolderFiles = Record<string, Uint8Array | string>;

async function writeSynced(file: string, contents: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the renames durable. Not every platform lets a directory be opened (Windows): skip there.
  try {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
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

/** Replaces `file` with `contents` through a synced temp file and a rename: a reader never sees half a file. */
export async function writeFileAtomically(file: string, contents: Uint8Array | string): Promise<void> {
  const temp = `${file}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await writeSynced(temp, contents);
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(path.dirname(path.resolve(file)));
}

/** `value` as JSON, written with writeFileAtomically. */
export async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await writeFileAtomically(file, JSON.stringify(value));
}

/**
 * Replaces `dir` with a folder holding exactly `files`, atomically (see the module comment).
 * Its parent folder is created if needed.
 */
export async function writeFolderAtomically(dir: string, files: FolderFiles): Promise<void> {
  const parent = path.dirname(path.resolve(dir));
  await fs.mkdir(parent, { recursive: true });
  const temp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  const old = `${dir}.old`;
  await fs.mkdir(temp);
  try {
    for (const [name, contents] of Object.entries(files)) {
      await writeSynced(path.join(temp, name), contents);
    }
    await syncDirectory(temp);
    await fs.rm(old, { recursive: true, force: true });
    const hadPrevious = await pathExists(dir);
    if (hadPrevious) await fs.rename(dir, old);
    await fs.rename(temp, dir);
    await syncDirectory(parent);
    if (hadPrevious) await fs.rm(old, { recursive: true, force: true });
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The folder to read: `dir` itself, or `<dir>.old` when a crash happened between moving the
 * old folder aside and moving the new one in. Null when neither exists.
 */
export async function readableFolder(dir: string): Promise<string | null> {
  if (await pathExists(dir)) return dir;
  if (await pathExists(`${dir}.old`)) return `${dir}.old`;
  return null;
}
