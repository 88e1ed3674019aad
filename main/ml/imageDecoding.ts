/**
 * Decoding untrusted picture files: file checks, size limits (limits.ts), format sniffing, the
 * header read before any pixel, a time budget and a process-wide cap on concurrent decodes, and
 * libvips's messages mapped to ImageError codes a user can act on. Everything that touches sharp
 * lives here; the pipelines in preprocess.ts get pixels from decodeRaw.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { PICTURE_LIMITS, describeMegabytes } from './limits.ts';

export type ImageErrorCode =
  | 'empty'
  | 'truncated'
  | 'corrupt'
  | 'unsupported'
  | 'too-large'
  | 'too-slow'
  | 'no-ink'
  | 'directory'
  | 'not-found'
  | 'unreadable';

/** A picture that cannot be turned into a model input; `message` names the file and the problem. */
export class ImageError extends Error {
  readonly code: ImageErrorCode;
  readonly fileName: string;
  constructor(code: ImageErrorCode, fileName: string, problem: string) {
    super(`${fileName}: ${problem}`);
    this.name = 'ImageError';
    this.code = code;
    this.fileName = fileName;
  }
}

const MAX_INPUT_PIXELS = PICTURE_LIMITS.maxPixels;
const MAX_FILE_BYTES = PICTURE_LIMITS.maxFileBytes;

/** A picture whose header was read and checked; its pixels are decoded on demand (decodeRaw). */
export interface LoadedImage {
  bytes: Uint8Array;
  name: string;
  format: string;
  /** Stored size (before EXIF orientation). */
  storedWidth: number;
  storedHeight: number;
  /** Displayed size (after EXIF orientation). */
  width: number;
  height: number;
  orientation: number;
  pages: number;
  hasAlpha: boolean;
  decodeBudgetMs: number;
}

const MEGABYTE = 1024 * 1024;

function describeBytes(count: number): string {
  return count >= MEGABYTE ? describeMegabytes(count) : `${count} bytes`;
}

/** What the first bytes say the file is; used to word messages and to tell damage from "not an image". */
function sniffFormat(bytes: Uint8Array): string | null {
  const ascii = (start: number, length: number) =>
    String.fromCharCode(...bytes.subarray(start, start + length));
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 3) === 'PNG') return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'tiff';
  if (ascii(0, 2) === 'BM') return 'bmp';
  if (ascii(0, 5) === '%PDF-') return 'pdf';
  if (ascii(4, 4) === 'ftyp') {
    const brand = ascii(8, 4);
    return /avi[fs]/.test(brand) ? 'avif' : /hei[cx]|mif1|msf1|hev[cx]/.test(brand) ? 'heic' : 'mp4';
  }
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4) return 'zip';
  return null;
}

/** Formats whose decoders sharp ships: a file that starts like one but fails is damaged, not foreign. */
const DECODABLE = new Set(['png', 'jpeg', 'gif', 'webp', 'tiff', 'avif']);

const FOREIGN_NAMES: Record<string, string> = {
  bmp: 'a BMP bitmap (save it as PNG or JPEG)',
  pdf: 'a PDF document (export the page as PNG or JPEG)',
  heic: 'a HEIC photo (export it as JPEG)',
  mp4: 'a video or ISO media file',
  zip: 'a ZIP archive or office document',
};

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 512);
  if (sample.length === 0) return false;
  let printable = 0;
  for (const byte of sample) if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte !== 127)) printable++;
  return printable / sample.length > 0.95;
}

/** Whether the file stops before its format's end marker: the usual sign of a cut-off copy. */
function missingEndMarker(bytes: Uint8Array, format: string): boolean {
  const n = bytes.length;
  if (format === 'jpeg') {
    // JPEG ends with FFD9, sometimes followed by padding.
    for (let i = n - 2; i >= Math.max(0, n - 64); i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return false;
    return true;
  }
  if (format === 'png') {
    const tail = String.fromCharCode(...bytes.subarray(Math.max(0, n - 12)));
    return !tail.includes('IEND');
  }
  if (format === 'gif') return bytes[n - 1] !== 0x3b;
  if (format === 'webp') {
    // RIFF header declares the size of what follows.
    const declared = n >= 8 ? (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24)) >>> 0 : 0;
    return declared + 8 > n;
  }
  return false;
}

function libvipsText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // libvips repeats lines; keep the distinct ones, short.
  const lines = [...new Set(text.split('\n').map((line) => line.trim().replace(/:$/, '')).filter(Boolean))];
  const joined = lines.join('; ');
  return joined.length > 200 ? `${joined.slice(0, 197)}...` : joined;
}

const TRUNCATION_TEXT = /premature end|unexpected end|end of (file|data|stream)|truncated|short read|not enough data|out of data/i;

/** Turns a sharp/libvips failure into an `ImageError` with a code and a sentence a user can act on. */
function decodeFailure(name: string, bytes: Uint8Array, error: unknown): ImageError {
  const detail = libvipsText(error);
  if (/exceeds pixel limit/i.test(detail)) {
    return new ImageError('too-large', name, `the picture is larger than the ${MAX_INPUT_PIXELS / 1e6}-megapixel limit`);
  }
  const sniffed = sniffFormat(bytes);
  if (/unsupported image format/i.test(detail)) {
    if (sniffed && DECODABLE.has(sniffed)) {
      return new ImageError('corrupt', name, `the file starts like a ${sniffed.toUpperCase()} image but cannot be read: it is truncated or corrupt (${detail})`);
    }
    const what = sniffed && FOREIGN_NAMES[sniffed] ? FOREIGN_NAMES[sniffed] : looksLikeText(bytes) ? 'text' : null;
    return new ImageError('unsupported', name, `not a picture this app can read (unsupported format${what ? `: it looks like ${what}` : ''})`);
  }
  if (sniffed && (TRUNCATION_TEXT.test(detail) || missingEndMarker(bytes, sniffed))) {
    return new ImageError('truncated', name, `the file is truncated: the image data ends early, as after a partial download or copy (${detail})`);
  }
  return new ImageError('corrupt', name, `the file is truncated or corrupt (${detail})`);
}

async function readInput(input: Uint8Array | string, fileName?: string): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof input !== 'string') {
    const name = fileName ?? 'image';
    if (input.length === 0) throw new ImageError('empty', name, 'the file is empty (0 bytes)');
    if (input.length > MAX_FILE_BYTES) {
      throw new ImageError('too-large', name, `the file is ${describeBytes(input.length)}, larger than the ${describeMegabytes(MAX_FILE_BYTES)} limit`);
    }
    return { bytes: input, name };
  }
  const name = fileName ?? (path.basename(input) || input);
  let stat;
  try {
    stat = await fs.stat(input);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ImageError('not-found', name, `no such file (${path.resolve(input)})`);
    if (code === 'EACCES' || code === 'EPERM') throw new ImageError('unreadable', name, 'permission denied: the file cannot be read');
    throw new ImageError('unreadable', name, `the file cannot be read (${(error as Error).message})`);
  }
  if (stat.isDirectory()) throw new ImageError('directory', name, 'is a folder, not an image file');
  if (!stat.isFile()) throw new ImageError('unsupported', name, 'is not a regular file (a device, pipe or socket)');
  if (stat.size === 0) throw new ImageError('empty', name, 'the file is empty (0 bytes)');
  if (stat.size > MAX_FILE_BYTES) {
    throw new ImageError('too-large', name, `the file is ${describeBytes(stat.size)}, larger than the ${describeMegabytes(MAX_FILE_BYTES)} limit`);
  }
  try {
    return { bytes: await fs.readFile(input), name };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new ImageError('directory', name, 'is a folder, not an image file');
    throw new ImageError('unreadable', name, `the file cannot be read (${(error as Error).message})`);
  }
}

/** sharp for decoding: first frame only, bounded size and time; `lenient` accepts data libvips only warns about. */
function decoder(image: LoadedImage, lenient = false): Sharp {
  return sharp(image.bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: lenient ? 'error' : 'warning', pages: 1, page: 0 }).timeout({
    seconds: Math.max(1, Math.ceil(image.decodeBudgetMs / 1000)),
  });
}

/**
 * A process-wide gate: at most PICTURE_LIMITS.concurrentDecodes sharp decodes run at once, so
 * libuv's thread pool always has threads left for file reads (HTTP in `digits serve`). Module
 * state on purpose: the thread pool it protects is the process's.
 */
let decodesRunning = 0;
const decodesWaiting: (() => void)[] = [];

async function decodeSlot(): Promise<() => void> {
  if (decodesRunning >= PICTURE_LIMITS.concurrentDecodes) await new Promise<void>((resolve) => decodesWaiting.push(resolve));
  else decodesRunning++;
  // A waiter inherits the slot of the decode that released it.
  return () => {
    const next = decodesWaiting.shift();
    if (next) next();
    else decodesRunning--;
  };
}

/**
 * Runs one decode within the picture's time budget. Past it the caller gets ImageError('too-slow')
 * at once. libvips cannot be stopped mid-render (sharp's timeout is checked between tiles; an SVG
 * renders in one go), so the decode keeps its slot until it really ends: slow pictures never take
 * more than their slots, however many arrive.
 */
async function decodeWithinBudget<T>(image: LoadedImage, run: () => Promise<T>): Promise<T> {
  const release = await decodeSlot();
  const work = run();
  work.then(release, release);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(tooSlowError(image)), image.decodeBudgetMs);
  });
  try {
    return await Promise.race([work, tooSlow]);
  } finally {
    clearTimeout(timer);
  }
}

function tooSlowError(image: Pick<LoadedImage, 'name' | 'decodeBudgetMs'>): ImageError {
  const seconds = Math.round(image.decodeBudgetMs / 100) / 10;
  return new ImageError(
    'too-slow',
    image.name,
    `the picture takes too long to decode (over ${seconds} s): it is far more complex than a photo or scan of a digit; save it as PNG or JPEG`,
  );
}

/**
 * Decodes strictly first; a file that only fails on warnings (some cameras write JPEGs with
 * stray bytes that every viewer shows) is decoded again leniently, with a note, because the
 * picture may be partly garbled. Truncated files fail both ways. A decode that ran out of time,
 * or failed only after using half of it, is not tried again: it would take as long again.
 */
export async function decodeRaw(
  image: LoadedImage,
  build: (decoded: Sharp) => Sharp,
  notes: string[],
): Promise<{ data: Buffer; info: OutputInfo }> {
  const started = performance.now();
  try {
    return await decodeWithinBudget(image, () => build(decoder(image)).toBuffer({ resolveWithObject: true }));
  } catch (strictError) {
    if (strictError instanceof ImageError) throw strictError;
    if (/timeout/i.test(libvipsText(strictError))) throw tooSlowError(image);
    if (/exceeds pixel limit/i.test(libvipsText(strictError))) throw decodeFailure(image.name, image.bytes, strictError);
    if (performance.now() - started > image.decodeBudgetMs / 2) throw decodeFailure(image.name, image.bytes, strictError);
    try {
      const decoded = await decodeWithinBudget(image, () => build(decoder(image, true)).toBuffer({ resolveWithObject: true }));
      notes.push(`the file has damaged data, so the picture may be partly garbled (${libvipsText(strictError)})`);
      return decoded;
    } catch (lenientError) {
      if (lenientError instanceof ImageError) throw lenientError;
      throw decodeFailure(image.name, image.bytes, strictError);
    }
  }
}

/**
 * How many elements an SVG draws once every <use> is expanded, counted from its text (no
 * rendering): each element with an id remembers its size and the ids its <use>s copy. Stops
 * counting past `limit`; a <use> cycle counts as unbounded.
 */
export function svgElementCount(text: string, limit: number): number {
  interface Frame {
    tag: string;
    id: string | null;
    count: number;
    refs: string[];
  }
  const defined = new Map<string, { count: number; refs: string[] }>();
  const root: Frame = { tag: '', id: null, count: 0, refs: [] };
  const stack: Frame[] = [root];
  const tags = /<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g;
  const body = text.replace(/<!--[\s\S]*?-->/g, '');
  const close = () => {
    const frame = stack.pop()!;
    if (frame.id !== null && !defined.has(frame.id)) defined.set(frame.id, { count: frame.count, refs: frame.refs });
    // What <defs> and <symbol> hold is drawn only where a <use> copies it.
    if (/^(svg:)?(defs|symbol)$/i.test(frame.tag)) return;
    const parent = stack[stack.length - 1] ?? root;
    parent.count += frame.count;
    parent.refs.push(...frame.refs);
  };
  for (const [, closing, tag, attributes, selfClosing] of body.matchAll(tags)) {
    if (closing) {
      if (stack.length > 1) close();
      continue;
    }
    const id = /\bid\s*=\s*["']([^"']*)["']/.exec(attributes)?.[1] ?? null;
    const frame: Frame = { tag, id, count: 1, refs: [] };
    if (/^(svg:)?(defs|symbol)$/i.test(tag)) frame.count = 0;
    if (/^(svg:)?use$/i.test(tag)) {
      const href = /\bhref\s*=\s*["']\s*#([^"']*)["']/.exec(attributes)?.[1];
      if (href !== undefined) frame.refs.push(href);
    }
    stack.push(frame);
    if (selfClosing) close();
  }
  while (stack.length > 1) close();
  const sizes = new Map<string, number>();
  const size = (id: string, visiting: Set<string>): number => {
    const known = sizes.get(id);
    if (known !== undefined) return known;
    const element = defined.get(id);
    if (!element) return 0;
    if (visiting.has(id)) return Infinity;
    visiting.add(id);
    let total = element.count;
    for (const ref of element.refs) {
      total += size(ref, visiting);
      if (total > limit) break;
    }
    visiting.delete(id);
    sizes.set(id, total);
    return total;
  };
  let total = root.count;
  for (const ref of root.refs) {
    total += size(ref, new Set());
    if (total > limit) return total;
  }
  return total;
}

/**
 * Reads a picture (path or bytes) and its header: refuses empty, oversized, foreign and damaged
 * files with an ImageError before any pixel is decoded.
 */
export async function loadImage(input: Uint8Array | string, fileName?: string, decodeBudgetMs = PICTURE_LIMITS.decodeSeconds * 1000): Promise<LoadedImage> {
  const { bytes, name } = await readInput(input, fileName);
  let meta: Metadata;
  try {
    // Header only: no pixels are decoded, so a decompression bomb is measured, not inflated.
    meta = await sharp(bytes, { limitInputPixels: false, pages: 1 }).metadata();
  } catch (error) {
    throw decodeFailure(name, bytes, error);
  }
  const storedWidth = meta.width ?? 0;
  const storedHeight = meta.pageHeight ?? meta.height ?? 0;
  if (storedWidth <= 0 || storedHeight <= 0) {
    throw new ImageError('corrupt', name, 'the file is truncated or corrupt (its header declares no picture size)');
  }
  if (storedWidth * storedHeight > MAX_INPUT_PIXELS) {
    throw new ImageError(
      'too-large',
      name,
      `${storedWidth}x${storedHeight} pixels is larger than the ${MAX_INPUT_PIXELS / 1e6}-megapixel limit`,
    );
  }
  if (meta.format === 'svg') {
    // An SVG's cost is in its shapes, not its pixels: a 2 KB file of nested <use> copies draws
    // millions. Counted before rendering, so such a file never reaches the decoder.
    const count = svgElementCount(new TextDecoder().decode(bytes), PICTURE_LIMITS.maxSvgElements);
    if (count > PICTURE_LIMITS.maxSvgElements) {
      throw new ImageError(
        'too-large',
        name,
        `the drawing has more than ${PICTURE_LIMITS.maxSvgElements.toLocaleString('en')} shapes once its <use> copies are counted; a digit needs a handful (save it as PNG)`,
      );
    }
  }
  const orientation = meta.orientation ?? 1;
  const turned = orientation >= 5 && orientation <= 8;
  return {
    bytes,
    name,
    format: meta.format ?? 'unknown',
    storedWidth,
    storedHeight,
    width: turned ? storedHeight : storedWidth,
    height: turned ? storedWidth : storedHeight,
    orientation,
    pages: meta.pages ?? 1,
    hasAlpha: meta.hasAlpha ?? false,
    decodeBudgetMs,
  };
}
