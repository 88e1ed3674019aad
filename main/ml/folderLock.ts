/**
 * Exclusive locks on what one process writes at a time: a run folder (`<run>/run.lock`) and an
 * export destination (`<dir>.lock` beside it). The CLI, the training worker and the app's
 * service all take them here, so `digits train` and the app cannot both write one run.
 *
 * A lock is a small JSON file naming its owner (pid, host, since). It is created complete and
 * atomically: written to a temp file, then hard-linked to the lock's name, which fails when the
 * name exists. A lock whose owner process is gone (killed, crashed, power cut) is stale and is
 * taken over: it is renamed aside first, so of two processes taking over the same stale lock only
 * one wins. A file at the lock's name that is not such a lock is never removed.
 *
 * Written here rather than taken from proper-lockfile (mtime-based staleness, no owner pid): the
 * user must be told which process holds a run.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RUN_LOCK = 'run.lock';

interface LockOwner {
  format: 'digit-studio-lock/1';
  pid: number;
  host: string;
  since: string;
  token: string;
}

/** The folder is locked by another live process. */
export class FolderLockedError extends Error {
  override name = 'FolderLockedError';
  constructor(
    message: string,
    readonly pid: number,
  ) {
    super(message);
  }
}

export interface FolderLock {
  readonly file: string;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): Promise<void>;
}

/** Tokens of the locks this process holds (a lock file with our pid but another token is stale). */
const heldTokens = new Set<string>();

function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true; // another machine (shared folder): cannot tell, assume so
  if (owner.pid === process.pid) return heldTokens.has(owner.token);
  return isAlive(owner.pid);
}

/** The owner written in a lock file; null when there is none; 'foreign' when it is not our lock. */
async function readOwner(file: string): Promise<LockOwner | null | 'foreign'> {
  let text: string;
  try {
    const stat = await fs.lstat(file);
    if (!stat.isFile() || stat.size > 4096) return 'foreign';
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (owner.format === 'digit-studio-lock/1' && Number.isInteger(owner.pid) && typeof owner.token === 'string') return owner as LockOwner;
  } catch {
    /* not JSON */
  }
  return 'foreign';
}

function busyMessage(file: string, what: string, owner: LockOwner): string {
  const process = owner.host === os.hostname() ? `process ${owner.pid}` : `process ${owner.pid} on ${owner.host}`;
  return `${what} is in use by ${process} (since ${owner.since}); wait for it to finish or stop it. If that process is not Digit Studio, delete ${file}.`;
}

function foreignMessage(file: string, what: string): string {
  return `${what} is locked by ${file}, which is not a Digit Studio lock; remove it if nothing else uses ${what}`;
}

/**
 * Takes the lock `file` for `what` (e.g. `run /path/to/run`), or throws FolderLockedError
 * ("run X is in use by process N ...") when a live process holds it. Stale locks are taken over.
 */
export async function acquireLock(file: string, what: string): Promise<FolderLock> {
  const token = randomBytes(8).toString('hex');
  const owner: LockOwner = { format: 'digit-studio-lock/1', pid: process.pid, host: os.hostname(), since: new Date().toISOString(), token };
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}-${token}.tmp`;
  await fs.writeFile(temp, JSON.stringify(owner));
  try {
    // A few rounds: each lost race (the holder vanished, or a stale lock was taken over by another) retries.
    for (let round = 0; round < 5; round++) {
      try {
        await fs.link(temp, file);
        heldTokens.add(token);
        await removeLeftovers(file);
        return newLock(file, token);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readOwner(file);
      if (holder === null) continue;
      if (holder === 'foreign') throw new FolderLockedError(foreignMessage(file, what), 0);
      if (ownerAlive(holder)) throw new FolderLockedError(busyMessage(file, what, holder), holder.pid);
      // Stale. Move it aside, then check that what was moved is the stale lock and not a fresh one.
      const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
      try {
        await fs.rename(file, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const moved = await readOwner(aside);
      if (moved !== null && moved !== 'foreign' && moved.token !== holder.token) {
        await fs.link(aside, file).catch(() => undefined); // someone else's fresh lock: put it back
      }
      await fs.rm(aside, { force: true });
    }
    throw new FolderLockedError(`${what} is being locked by several processes at once; try again`, 0);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** How old a `.stale-` file must be before it is an orphan (not another process's takeover in progress). */
const ORPHAN_AGE_MS = 60_000;

/** Temp and stale files beside `file` left by processes that crashed while locking. */
async function removeLeftovers(file: string): Promise<void> {
  const dir = path.dirname(file);
  const base = path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const temp = new RegExp(`^${base}\\.(\\d+)-[0-9a-f]{16}\\.tmp$`);
  const stale = new RegExp(`^${base}\\.stale-[0-9a-f]{8}$`);
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const full = path.join(dir, name);
    const pid = temp.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) await fs.rm(full, { force: true });
    if (stale.test(name)) {
      const stat = await fs.lstat(full).catch(() => null);
      if (stat && Date.now() - stat.mtimeMs > ORPHAN_AGE_MS) await fs.rm(full, { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function newLock(file: string, token: string): FolderLock {
  // A process that exits without releasing (process.exit, an uncaught error) still removes its lock.
  const onExit = () => {
    if (!heldTokens.has(token)) return;
    try {
      unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
  process.once('exit', onExit);
  return {
    file,
    async release() {
      if (!heldTokens.delete(token)) return;
      process.off('exit', onExit);
      const holder = await readOwner(file).catch(() => null);
      if (holder !== null && holder !== 'foreign' && holder.token === token) await fs.rm(file, { force: true });
    },
  };
}

/**
 * Why `what` cannot be locked now ("run X is in use by process N ..."), or null when it is free
 * or its lock is stale. Only a hint (the lock may change hands right after): callers that write
 * still take the lock.
 */
export async function lockRefusal(file: string, what: string): Promise<string | null> {
  const holder = await readOwner(file).catch(() => null);
  if (holder === null) return null;
  if (holder === 'foreign') return foreignMessage(file, what);
  return ownerAlive(holder) ? busyMessage(file, what, holder) : null;
}

/** Runs `fn` holding the lock `file`. */
export async function withLock<T>(file: string, what: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(file, what);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** The lock of a run folder: held by whoever trains into it (CLI or the app's training worker). */
export function runLockFile(runDir: string): string {
  return path.join(path.resolve(runDir), RUN_LOCK);
}

/** Runs `fn` holding the run folder's lock ("run X is in use by process N" for a second writer). */
export function withRunLock<T>(runDir: string, fn: () => Promise<T>): Promise<T> {
  return withLock(runLockFile(runDir), `run ${runDir}`, fn);
}

/** The lock of an export destination, beside it (the folder itself is replaced by a rename). */
export function destinationLockFile(dir: string): string {
  return `${path.resolve(dir)}.lock`;
}

/** Runs `fn` holding the export destination's lock. */
export function withDestinationLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  return withLock(destinationLockFile(dir), `export folder ${dir}`, fn);
}
