import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { IdxError, encodeIdx, parseIdx, readIdxFile } from './idx.ts';

/** A header with arbitrary fields, for building malformed files by hand. */
function header(type: number, dims: number[], dimCountOverride?: number): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length);
  out[2] = type;
  out[3] = dimCountOverride ?? dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((dim, i) => view.setUint32(4 + 4 * i, dim, false));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Runs parseIdx and returns the IdxError it must throw. */
function idxErrorOf(bytes: Uint8Array, fileName = 'f-idx3-ubyte'): IdxError {
  try {
    parseIdx(bytes, fileName);
  } catch (error) {
    expect(error).toBeInstanceOf(IdxError);
    return error as IdxError;
  }
  throw new Error('parseIdx accepted a malformed file');
}

const dimsArb = fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 });

describe('parseIdx / encodeIdx', () => {
  it('round-trips any dimensions and bytes', () => {
    fc.assert(
      fc.property(
        dimsArb.chain((dims) =>
          fc.tuple(
            fc.constant(dims),
            fc.uint8Array({
              minLength: dims.reduce((a, b) => a * b, 1),
              maxLength: dims.reduce((a, b) => a * b, 1),
            }),
          ),
        ),
        ([dims, data]) => {
          const parsed = parseIdx(encodeIdx(dims, data), 'round-trip');
          expect(parsed.dims).toEqual(dims);
          expect(Array.from(parsed.data)).toEqual(Array.from(data));
        },
      ),
    );
  });

  it('returns the values as a view of the input, not a copy', () => {
    const file = encodeIdx([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6]));
    const parsed = parseIdx(file, 'view');
    expect(parsed.data.buffer).toBe(file.buffer);
    expect(parsed.data.byteOffset).toBe(12);
    file[12] = 99;
    expect(parsed.data[0]).toBe(99);
  });

  it('reads the header big-endian and honours a non-zero byteOffset', () => {
    const file = encodeIdx([256 + 2], new Uint8Array(258).map((_, i) => i % 7));
    expect(Array.from(file.subarray(4, 8))).toEqual([0, 0, 1, 2]);
    const shifted = new Uint8Array(file.length + 5);
    shifted.set(file, 5);
    const parsed = parseIdx(shifted.subarray(5), 'offset');
    expect(parsed.dims).toEqual([258]);
    expect(parsed.data[8]).toBe(1);
  });

  it('rejects a bad magic number', () => {
    const error = idxErrorOf(Uint8Array.from([0x50, 0x4b, 0x08, 0x01, 0, 0, 0, 1, 7]), 'x.zip');
    expect(error.message).toBe(
      'x.zip: not an IDX file: it should start with two zero bytes but starts with 0x50 0x4b',
    );
  });

  it('rejects a file shorter than the preamble', () => {
    expect(idxErrorOf(Uint8Array.from([0, 0])).message).toMatch(/only 2 bytes, shorter than the 4-byte IDX preamble/);
    expect(idxErrorOf(new Uint8Array(0)).message).toMatch(/only 0 bytes/);
  });

  it('names the unsupported data type', () => {
    const floats = concat(header(0x0d, [1]), new Uint8Array(4));
    expect(idxErrorOf(floats, 'w').message).toBe(
      'w: unsupported IDX data type 0x0d (32-bit float); only 0x08 (unsigned byte) is supported',
    );
    expect(idxErrorOf(concat(header(0x42, [1]), new Uint8Array(1))).message).toMatch(
      /unsupported IDX data type 0x42; only 0x08/,
    );
  });

  it('rejects 0 or more than 4 dimensions', () => {
    expect(idxErrorOf(header(0x08, [])).message).toMatch(/declares 0 dimensions; expected 1 to 4/);
    expect(idxErrorOf(concat(header(0x08, [1, 1, 1, 1, 1]), new Uint8Array(1))).message).toMatch(
      /declares 5 dimensions; expected 1 to 4/,
    );
  });

  it('rejects a zero-sized dimension', () => {
    expect(idxErrorOf(header(0x08, [10, 0, 28]), 'a').message).toBe(
      'a: dimension 2 of 10x0x28 is 0; the file holds no values',
    );
  });

  it('rejects a header cut short', () => {
    const cut = header(0x08, [60000, 28, 28]).subarray(0, 10);
    expect(idxErrorOf(cut).message).toMatch(/truncated: the header needs 16 bytes for 3 dimensions but the file holds 10 bytes/);
  });

  it('reports truncated values with the header claim and the actual size', () => {
    const file = concat(header(0x08, [60000, 28, 28]), new Uint8Array(1000));
    expect(idxErrorOf(file, 'train-images-idx3-ubyte').message).toBe(
      'train-images-idx3-ubyte: truncated: header says 60000x28x28 images (47040000 bytes) but the file holds 1000 bytes after the header',
    );
  });

  it('reports trailing bytes', () => {
    const file = concat(encodeIdx([3], Uint8Array.from([1, 2, 3])), Uint8Array.from([9, 9]));
    expect(idxErrorOf(file, 'l').message).toBe(
      'l: 2 trailing bytes: header says 3 labels (3 bytes) but the file holds 5 bytes after the header',
    );
  });

  it('survives a lying header with huge dimensions without allocating from it', () => {
    const huge = concat(header(0x08, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]), new Uint8Array(16));
    expect(idxErrorOf(huge).message).toMatch(
      /truncated: header says 4294967295x4294967295x4294967295x4294967295 values \(340282366604025813516997721482669850625 bytes\)/,
    );
    const one = concat(header(0x08, [0xffffffff]), new Uint8Array(3));
    expect(idxErrorOf(one).message).toMatch(/header says 4294967295 labels \(4294967295 bytes\) but the file holds 3 bytes/);
  });

  it('tells the caller when it was handed gzip data', () => {
    const gz = gzipSync(encodeIdx([1], Uint8Array.from([4])));
    expect(idxErrorOf(new Uint8Array(gz), 'g.gz').message).toMatch(/^g\.gz: is gzip-compressed; decompress it first/);
  });

  it('only ever returns or throws IdxError on arbitrary bytes', () => {
    const check = (bytes: Uint8Array) => {
      try {
        const parsed = parseIdx(bytes, 'fuzz');
        expect(parsed.data.length).toBe(parsed.dims.reduce((a, b) => a * b, 1));
      } catch (error) {
        if (!(error instanceof IdxError)) throw error;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), { numRuns: 2000 });
    // Mostly-valid headers reach the deeper checks far more often than uniform noise does.
    const plausible = fc
      .tuple(
        fc.constantFrom(0x08, 0x09, 0x0d),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(0xffffffff), fc.nat()), { maxLength: 5 }),
        fc.uint8Array({ maxLength: 80 }),
      )
      .map(([type, count, dims, tail]) => concat(header(type, dims, count), tail));
    fc.assert(fc.property(plausible, check), { numRuns: 2000 });
  });

  it('encodeIdx refuses data that does not match its dimensions', () => {
    expect(() => encodeIdx([2, 2], new Uint8Array(3))).toThrow(/need 4 values but 3 were given/);
    expect(() => encodeIdx([], new Uint8Array(0))).toThrow(/0 dimensions/);
  });
});

describe('readIdxFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'idx-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads raw and gzip files alike, whatever their names', async () => {
    const data = new Uint8Array(5 * 4 * 3).map((_, i) => (i * 37) % 256);
    const file = encodeIdx([5, 4, 3], data);
    const rawPath = path.join(dir, 'raw-idx3-ubyte');
    const gzPath = path.join(dir, 'packed-idx3-ubyte.gz');
    const gzNoSuffix = path.join(dir, 'packed-without-suffix');
    await writeFile(rawPath, file);
    await writeFile(gzPath, gzipSync(file));
    await writeFile(gzNoSuffix, gzipSync(file));
    for (const p of [rawPath, gzPath, gzNoSuffix]) {
      const parsed = await readIdxFile(p);
      expect(parsed.dims).toEqual([5, 4, 3]);
      expect(Array.from(parsed.data)).toEqual(Array.from(data));
      expect(Object.getPrototypeOf(parsed.data)).toBe(Uint8Array.prototype);
    }
  });

  it('names the path when the file is missing or a folder', async () => {
    const missing = path.join(dir, 'nope-idx1-ubyte');
    await expect(readIdxFile(missing)).rejects.toThrow(new IdxError(missing, 'file not found'));
    const folder = path.join(dir, 'a-folder');
    await mkdir(folder);
    await expect(readIdxFile(folder)).rejects.toThrow(`${folder}: is a folder, not a file`);
  });

  it('reports parse problems with the path', async () => {
    const p = path.join(dir, 'short-idx1-ubyte');
    await writeFile(p, concat(header(0x08, [10]), new Uint8Array(4)));
    await expect(readIdxFile(p)).rejects.toThrow(`${p}: truncated: header says 10 labels (10 bytes) but the file holds 4 bytes after the header`);
  });

  it('refuses a gzip file that decompresses past the limit', async () => {
    const p = path.join(dir, 'bomb.gz');
    await writeFile(p, gzipSync(new Uint8Array(1_000_000)));
    const failure = readIdxFile(p, { maxBytes: 10_000 });
    await expect(failure).rejects.toBeInstanceOf(IdxError);
    await expect(failure).rejects.toThrow(`${p}: decompresses to more than the 10000-byte limit for an IDX file`);
  });

  it('refuses a raw file over the limit before reading it', async () => {
    const p = path.join(dir, 'big-idx1-ubyte');
    await writeFile(p, encodeIdx([2000], new Uint8Array(2000)));
    await expect(readIdxFile(p, { maxBytes: 1000 })).rejects.toThrow(`${p}: is 2008 bytes, more than the 1000-byte limit`);
  });

  it('reports corrupt gzip data', async () => {
    const p = path.join(dir, 'corrupt.gz');
    const gz = gzipSync(encodeIdx([100], new Uint8Array(100).fill(3)));
    await writeFile(p, gz.subarray(0, gz.length - 12));
    const failure = readIdxFile(p);
    await expect(failure).rejects.toBeInstanceOf(IdxError);
    await expect(failure).rejects.toThrow(/is not a valid gzip file: /);
  });
});
