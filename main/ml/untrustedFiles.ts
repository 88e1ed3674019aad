/**
 * Reading files that came from somewhere else (a downloaded model folder, a copied run folder)
 * without letting them reach outside their folder, block the process, or exhaust memory:
 *
 * - a relative path must stay inside its folder, also after following symbolic links (`realpath`),
 *   and nothing is learned about a file outside it (no size in any message);
 * - only regular files are read: a named pipe would block a libuv pool thread forever, a device
 *   such as /dev/zero never ends; both are refused by `stat` before anything is opened;
 * - the size is checked against a cap by `stat` before reading, and the read is bounded by it.
 *
 * Plus the SHA-256 used to recognise damaged files (model folders, checkpoints).
 */
import { createHash } from 'node:crypto';
import { constants, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';

/** A file refused for what it is (outside its folder, not a regular file, too large, missing). */
export class UntrustedFileError extends Error {
  override name = 'UntrustedFileError';
  constructor(
    message: string,
    readonly reason: 'outside' | 'missing' | 'not-a-file' | 'too-large' | 'unreadable',
  ) {
    super(message);
  }
}

/** SHA-256 of `bytes` as 64 lowercase hex digits. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** "1 MB", "64 KB", "200 MB": binary units, as caps are chosen. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The real path of `relative` inside the folder whose real path is `realRoot`. Refuses absolute
 * paths, `..` climbing out, and links that lead outside; never stats anything outside the folder.
 * `label` names the file in messages (e.g. "weights file ../x listed in model.json").
 */
export async function resolveInside(realRoot: string, relative: string, label: string): Promise<string> {
  if (path.isAbsolute(relative) || path.win32.isAbsolute(relative) || relative.includes('\0')) {
    throw new UntrustedFileError(`${label}: an absolute path leads outside the folder; refused`, 'outside');
  }
  const lexical = path.resolve(realRoot, relative);
  if (!isInside(realRoot, lexical)) {
    throw new UntrustedFileError(`${label}: the path leads outside the folder; refused`, 'outside');
  }
  let real: string;
  try {
    real = await fs.realpath(lexical);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UntrustedFileError(`${label} is missing`, 'missing');
    throw new UntrustedFileError(`${label}: cannot be read (${code ?? 'error'})`, 'unreadable');
  }
  if (!isInside(realRoot, real)) {
    throw new UntrustedFileError(`${label}: it is a link leading outside the folder; refused`, 'outside');
  }
  return real;
}

/**
 * The size of `file` if it is a regular file of at most `maxBytes`; checked with `stat` only (no
 * open, so a named pipe cannot block). `file` should come from resolveInside.
 */
export async function regularFileSize(file: string, maxBytes: number, label: string): Promise<number> {
  let stat: Stats;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UntrustedFileError(`${label} is missing`, 'missing');
    throw new UntrustedFileError(`${label}: cannot be read (${code ?? 'error'})`, 'unreadable');
  }
  if (!stat.isFile()) throw new UntrustedFileError(`${label} is ${kindOf(stat)}, not a regular file; refused`, 'not-a-file');
  if (stat.size > maxBytes) {
    throw new UntrustedFileError(`${label} is ${formatBytes(stat.size)}, more than the ${formatBytes(maxBytes)} allowed; refused`, 'too-large');
  }
  return stat.size;
}

// O_NONBLOCK: if a regular file is swapped for a pipe between stat and open, open does not wait
// for a writer. O_NOFOLLOW: nor for a link. Both are 0 where the platform lacks them (Windows).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/**
 * Reads a regular file of at most `maxBytes` (see regularFileSize), checking again on the open
 * handle so a file swapped after the check is still refused.
 */
export async function readRegularFile(file: string, maxBytes: number, label: string): Promise<Buffer> {
  await regularFileSize(file, maxBytes, label);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UntrustedFileError(`${label}: cannot be read (${code ?? 'error'})`, code === 'ELOOP' ? 'outside' : 'unreadable');
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UntrustedFileError(`${label} is ${kindOf(stat)}, not a regular file; refused`, 'not-a-file');
    if (stat.size > maxBytes) {
      throw new UntrustedFileError(`${label} is ${formatBytes(stat.size)}, more than the ${formatBytes(maxBytes)} allowed; refused`, 'too-large');
    }
    const buffer = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) throw new UntrustedFileError(`${label} shrank while it was read; try again`, 'unreadable');
      filled += bytesRead;
    }
    return buffer;
  } finally {
    await handle.close();
  }
}
