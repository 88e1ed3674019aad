/**
 * IDX files, the container MNIST ships in (yann.lecun.com/exdb/mnist, "FILE FORMATS"):
 *
 *   byte 0-1   0x00 0x00 (magic)
 *   byte 2     data type; 0x08 = unsigned byte is the only one MNIST uses and the only one read here
 *   byte 3     number of dimensions (we accept 1..4)
 *   then       one big-endian uint32 per dimension
 *   then       the values, row-major, the last dimension changing fastest
 *
 * The header is never trusted: every size it claims is compared with the bytes actually present
 * before anything is sized from it, so a corrupt or hostile header gives an `IdxError` naming the
 * file, never a huge allocation or a RangeError. Files may be gzip-compressed (`.gz`, as
 * distributed); `readIdxFile` detects that from the content, not the name.
 */
import { readFile, stat } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';

const gunzipAsync = promisify(gunzip);

export interface IdxData {
  /** Dimensions as the header states them, e.g. [60000, 28, 28]; their product is data.length. */
  dims: number[];
  /** The values, a view (no copy) into the buffer that was parsed. */
  data: Uint8Array;
}

/** A file that is not a usable IDX file; the message starts with the file name. */
export class IdxError extends Error {
  readonly fileName: string;
  readonly problem: string;

  constructor(fileName: string, problem: string) {
    super(`${fileName}: ${problem}`);
    this.name = 'IdxError';
    this.fileName = fileName;
    this.problem = problem;
  }
}

const UNSIGNED_BYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: '16-bit integer',
  0x0c: '32-bit integer',
  0x0d: '32-bit float',
  0x0e: '64-bit float',
};
const MAX_DIMS = 4;
const PREAMBLE_BYTES = 4;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/**
 * The largest IDX payload `readIdxFile` accepts by default, compressed or not: 64 MiB of values
 * plus the largest header. MNIST's training images are 47 MB; the cap keeps a corrupt file or a
 * gzip bomb from exhausting memory.
 */
export const DEFAULT_MAX_IDX_BYTES = 64 * 1024 * 1024 + PREAMBLE_BYTES + 4 * MAX_DIMS;

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/** What the values are, for messages: MNIST's 3-D files hold images, its 1-D files labels. */
function noun(dims: readonly number[]): string {
  if (dims.length === 3) return 'images';
  if (dims.length === 1) return 'labels';
  return 'values';
}

function startsWithGzipMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/**
 * Parses an uncompressed IDX file held in memory. `fileName` is only used in messages.
 * Zero-sized dimensions are rejected: an empty set is never useful here, and MNIST has none.
 * Throws `IdxError` for anything malformed.
 */
export function parseIdx(bytes: Uint8Array, fileName: string): IdxData {
  if (startsWithGzipMagic(bytes)) {
    throw new IdxError(fileName, 'is gzip-compressed; decompress it first (readIdxFile does this itself)');
  }
  if (bytes.length < PREAMBLE_BYTES) {
    throw new IdxError(fileName, `not an IDX file: only ${bytes.length} bytes, shorter than the 4-byte IDX preamble`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxError(
      fileName,
      `not an IDX file: it should start with two zero bytes but starts with ${hex(bytes[0])} ${hex(bytes[1])}`,
    );
  }
  const type = bytes[2];
  if (type !== UNSIGNED_BYTE) {
    const known = TYPE_NAMES[type] ? ` (${TYPE_NAMES[type]})` : '';
    throw new IdxError(
      fileName,
      `unsupported IDX data type ${hex(type)}${known}; only ${hex(UNSIGNED_BYTE)} (unsigned byte) is supported`,
    );
  }
  const dimCount = bytes[3];
  if (dimCount < 1 || dimCount > MAX_DIMS) {
    throw new IdxError(fileName, `the header declares ${dimCount} dimensions; expected 1 to ${MAX_DIMS}`);
  }
  const headerBytes = PREAMBLE_BYTES + 4 * dimCount;
  if (bytes.length < headerBytes) {
    throw new IdxError(
      fileName,
      `truncated: the header needs ${headerBytes} bytes for ${dimCount} dimensions but the file holds ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims: number[] = [];
  for (let i = 0; i < dimCount; i++) dims.push(view.getUint32(PREAMBLE_BYTES + 4 * i, false));
  const zeroAt = dims.indexOf(0);
  if (zeroAt >= 0) {
    throw new IdxError(fileName, `dimension ${zeroAt + 1} of ${dims.join('x')} is 0; the file holds no values`);
  }
  // BigInt: four uint32 dimensions can multiply past 2^53, where Number stops being exact.
  const expected = dims.reduce((product, dim) => product * BigInt(dim), 1n);
  const present = BigInt(bytes.length - headerBytes);
  if (expected !== present) {
    const claim = `header says ${dims.join('x')} ${noun(dims)} (${expected} bytes)`;
    throw new IdxError(
      fileName,
      expected > present
        ? `truncated: ${claim} but the file holds ${present} bytes after the header`
        : `${present - expected} trailing bytes: ${claim} but the file holds ${present} bytes after the header`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Builds an uncompressed IDX file of unsigned bytes (for tests and small generated folders). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length < 1 || dims.length > MAX_DIMS) {
    throw new Error(`encodeIdx: ${dims.length} dimensions; IDX here takes 1 to ${MAX_DIMS}`);
  }
  for (const dim of dims) {
    if (!Number.isInteger(dim) || dim < 0 || dim > 0xffffffff) {
      throw new Error(`encodeIdx: dimension ${dim} is not a uint32`);
    }
  }
  const count = dims.reduce((product, dim) => product * dim, 1);
  if (count !== data.length) {
    throw new Error(`encodeIdx: dimensions ${dims.join('x')} need ${count} values but ${data.length} were given`);
  }
  const headerBytes = PREAMBLE_BYTES + 4 * dims.length;
  const out = new Uint8Array(headerBytes + data.length);
  const view = new DataView(out.buffer);
  out[2] = UNSIGNED_BYTE;
  out[3] = dims.length;
  dims.forEach((dim, i) => view.setUint32(PREAMBLE_BYTES + 4 * i, dim, false));
  out.set(data, headerBytes);
  return out;
}

export interface ReadIdxOptions {
  /** Refuse files (before or after decompression) larger than this; default DEFAULT_MAX_IDX_BYTES. */
  maxBytes?: number;
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return `cannot read: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * Reads an IDX file from disk, gunzipping it first when its content starts with the gzip magic
 * bytes (whatever its name). Every failure is an `IdxError` naming `filePath`.
 */
export async function readIdxFile(filePath: string, options: ReadIdxOptions = {}): Promise<IdxData> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_IDX_BYTES;
  let raw: Buffer;
  try {
    const info = await stat(filePath);
    if (info.isDirectory()) throw new IdxError(filePath, 'is a folder, not a file');
    if (info.size > maxBytes) {
      throw new IdxError(filePath, `is ${info.size} bytes, more than the ${maxBytes}-byte limit for an IDX file`);
    }
    raw = await readFile(filePath);
  } catch (error) {
    if (error instanceof IdxError) throw error;
    throw new IdxError(filePath, describeFsError(error));
  }
  let bytes: Buffer = raw;
  if (startsWithGzipMagic(raw)) {
    try {
      bytes = await gunzipAsync(raw, { maxOutputLength: maxBytes });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      throw new IdxError(
        filePath,
        code === 'ERR_BUFFER_TOO_LARGE'
          ? `decompresses to more than the ${maxBytes}-byte limit for an IDX file`
          : `is not a valid gzip file: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  // A plain Uint8Array view, so callers never meet Buffer's different `slice` semantics.
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), filePath);
}
