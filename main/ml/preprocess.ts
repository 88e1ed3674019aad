/**
 * Real pictures -> 28x28 inputs that look like MNIST (ink = 1 on a 0 background).
 *
 * Two pipelines:
 * - 'seed' reproduces the seed tutorial's app: resize the whole picture to 28x28, grey, invert,
 *   threshold at 50. Kept as the baseline it is: a small or off-centre digit comes out small or
 *   off-centre, and the model never saw such digits.
 * - 'mnist' (default) does what was done to MNIST's own digits: find the ink, crop to it, scale
 *   the crop into a 20x20 box keeping its aspect ratio (anti-aliased), and place it in the 28x28
 *   frame so that its centre of mass is at the centre. Around that it copes with what photos and
 *   files bring: EXIF orientation, transparency, animation, either polarity, uneven lighting and
 *   specks.
 *
 * Every failure is an `ImageError` whose message names the file and says what is wrong.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { IMAGE_SIZE, PIXELS } from './dataset.ts';
import { PICTURE_LIMITS, describeMegabytes } from './limits.ts';

export type PreprocessMode = 'mnist' | 'seed';

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

/** Where a digit was found, in the picture's own (upright) pixel coordinates. */
export interface ImageRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PreparedImage {
  /** 784 values in [0, 1], ink = 1, row-major 28x28: what the model sees. */
  pixels: Float32Array;
  /** The picture's size as displayed (after EXIF orientation), in pixels. */
  width: number;
  height: number;
  /** sharp's name for the file format: 'png', 'jpeg', 'webp', 'gif', 'tiff', 'svg', 'heif', ... */
  format: string;
  /** True when the picture had dark ink on a light background and was inverted to MNIST's polarity. */
  inverted: boolean;
  /** What was done, in words a user can read ("turned upright using its EXIF orientation", ...). */
  notes: string[];
  /** The ink's bounding box in the picture ('mnist' mode only). */
  region?: ImageRegion;
}

export interface PreprocessOptions {
  mode?: PreprocessMode;
  /** Name used in messages; defaults to the path's base name, or "image" for bytes. */
  fileName?: string;
  /** How long decoding may take, in ms (default PICTURE_LIMITS.decodeSeconds). */
  decodeBudgetMs?: number;
}

/**
 * Bump whenever a change to this module changes any model input: cached inputs of labelled
 * pictures (labelledFolder.ts) are keyed by it.
 */
export const PREPROCESSING_VERSION = 'mnist-2026-11-29';
const MAX_INPUT_PIXELS = PICTURE_LIMITS.maxPixels;
const MAX_FILE_BYTES = PICTURE_LIMITS.maxFileBytes;
/**
 * Pictures are analysed at most this many pixels on a side. 384 reads the real-world bench as
 * well as 512 did (bench/realworld.ts, 100 per group) and keeps single-image prediction p95
 * under 50 ms (npm run bench); the analysis is plain JS over every working pixel.
 */
const WORKING_SIDE = 384;
/** MNIST's digits fit a 20x20 box inside the 28x28 frame. */
const BOX_SIZE = 20;
const FRAME_CENTRE = IMAGE_SIZE / 2;
/** The seed app's threshold, applied after inversion. */
const SEED_THRESHOLD = 50;
/** Ink must differ from the background by at least this much (0..255) to count as ink. */
const MIN_INK_CONTRAST = 24;
/**
 * Stroke width in the 20x20 box, in pixels: MNIST's strokes measure about 1.3 (10th percentile),
 * 1.9 (median) and 2.6 (90th) there. Thinner strokes are thickened to the median.
 */
const MIN_STROKE_WIDTH = 1.3;
const TARGET_STROKE_WIDTH = 1.9;
/** A component covering this fraction of the shorter side's length of the edge is a band, not ink. */
const EDGE_BAND_FRACTION = 0.25;
/** Pictures at least this big (shorter side, working pixels) are smoothed before thresholding. */
const SMOOTH_MIN_SIDE = 96;
/** Polarity looks at the darkest and lightest 0.05% of the picture (a small digit may be 0.1% of it). */
const TAIL_FRACTION = 0.0005;
/** The ink threshold stays this many noise deviations above the background. */
const NOISE_SIGMAS = 4;
/** Ink must stand this many noise deviations above the background. */
const INK_SIGMAS = 6;
/** Ink blobs smaller than this fraction of the largest blob are specks and ignored. */
const SPECK_FRACTION = 0.05;

// ---------------------------------------------------------------------------------------------
// Loading: file checks, format sniffing, metadata first, libvips messages mapped to codes.

interface LoadedImage {
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
async function decodeRaw(
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

async function loadImage(input: Uint8Array | string, fileName?: string, decodeBudgetMs = PICTURE_LIMITS.decodeSeconds * 1000): Promise<LoadedImage> {
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

// ---------------------------------------------------------------------------------------------
// Pixel helpers (plain arrays, no sharp).

/** ITU-R 601 luma as PIL's convert('L') computes it, in integers. */
function luma601(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/** Otsu's threshold over a 256-bin histogram: the level t splitting it into classes <= t and > t. */
export function otsuThreshold(histogram: ArrayLike<number>): number {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < 256; i++) {
    total += histogram[i];
    sum += i * histogram[i];
  }
  let weightLow = 0;
  let sumLow = 0;
  let best = -1;
  let threshold = 0;
  for (let t = 0; t < 255; t++) {
    weightLow += histogram[t];
    if (weightLow === 0) continue;
    const weightHigh = total - weightLow;
    if (weightHigh === 0) break;
    sumLow += t * histogram[t];
    const meanLow = sumLow / weightLow;
    const meanHigh = (sum - sumLow) / weightHigh;
    const between = weightLow * weightHigh * (meanLow - meanHigh) ** 2;
    if (between > best) {
      best = between;
      threshold = t;
    }
  }
  return threshold;
}

/** Histogram of values rounded to 0..255, over the pixels whose `include` byte is set (all without one). */
function histogramOf(values: ArrayLike<number>, include?: Uint8Array): Float64Array {
  const histogram = new Float64Array(256);
  for (let i = 0; i < values.length; i++) {
    if (include && !include[i]) continue;
    const v = Math.round(values[i]);
    histogram[v < 0 ? 0 : v > 255 ? 255 : v]++;
  }
  return histogram;
}

interface ClassStats {
  threshold: number;
  lowMean: number;
  highMean: number;
  lowCount: number;
  highCount: number;
}

function otsuClasses(histogram: Float64Array): ClassStats {
  const threshold = otsuThreshold(histogram);
  let lowCount = 0;
  let lowSum = 0;
  let highCount = 0;
  let highSum = 0;
  for (let i = 0; i < 256; i++) {
    if (i <= threshold) {
      lowCount += histogram[i];
      lowSum += i * histogram[i];
    } else {
      highCount += histogram[i];
      highSum += i * histogram[i];
    }
  }
  // One flat tone has no second class: report both means equal so the contrast reads 0.
  const flat = lowCount === 0 || highCount === 0;
  const mean = (lowSum + highSum) / Math.max(1, lowCount + highCount);
  return {
    threshold,
    lowMean: flat ? mean : lowSum / lowCount,
    highMean: flat ? mean : highSum / highCount,
    lowCount,
    highCount,
  };
}

/** 3x3 mean filter (edges use the pixels that exist); takes the edge off sensor and JPEG noise. */
function boxBlur3(values: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let count = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          sum += values[yy * width + xx];
          count++;
        }
      }
      out[y * width + x] = sum / count;
    }
  }
  return out;
}

/** Solves the small dense system A x = b by Gaussian elimination with partial pivoting (null if singular). */
function solveLinear(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(m[row][col]) > Math.abs(m[pivot][col])) pivot = row;
    if (Math.abs(m[pivot][col]) < 1e-9) return null;
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let row = 0; row < n; row++) {
      if (row === col) continue;
      const factor = m[row][col] / m[col][col];
      for (let k = col; k <= n; k++) m[row][k] -= factor * m[col][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

/**
 * Fits the background as a smooth surface (quadratic in x and y) to the pixels marked as
 * background: paper under a lamp is brighter on one side, and a single global threshold would
 * then call the dim side ink. Returns the surface sampled at every pixel.
 */
function fitBackground(values: Float32Array, width: number, height: number, isBackground: Uint8Array): Float32Array {
  const terms = (x: number, y: number) => [1, x, y, x * x, x * y, y * y];
  const size = 6;
  const ata = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  const atb = new Array<number>(size).fill(0);
  const step = Math.max(1, Math.floor(Math.sqrt((width * height) / 6000)));
  let samples = 0;
  for (let y = 0; y < height; y += step) {
    for (let x = 0; x < width; x += step) {
      const i = y * width + x;
      if (!isBackground[i]) continue;
      const t = terms(x / width - 0.5, y / height - 0.5);
      for (let r = 0; r < size; r++) {
        atb[r] += t[r] * values[i];
        for (let c = 0; c < size; c++) ata[r][c] += t[r] * t[c];
      }
      samples++;
    }
  }
  const surface = new Float32Array(width * height);
  const coefficients = samples >= 24 ? solveLinear(ata, atb) : null;
  if (!coefficients) {
    // Too little background to fit a surface: use its mean.
    let sum = 0;
    let count = 0;
    for (let i = 0; i < values.length; i++) {
      if (!isBackground[i]) continue;
      sum += values[i];
      count++;
    }
    return surface.fill(count ? sum / count : 0);
  }
  // The same polynomial as `terms`, written out: this runs for every pixel.
  const [c0, cx, cy, cxx, cxy, cyy] = coefficients;
  for (let y = 0; y < height; y++) {
    const v = y / height - 0.5;
    const rowBase = c0 + cy * v + cyy * v * v;
    for (let x = 0; x < width; x++) {
      const u = x / width - 0.5;
      surface[y * width + x] = rowBase + (cx + cxx * u + cxy * v) * u;
    }
  }
  return surface;
}

interface Components {
  /** Component id per pixel (-1 = not ink). */
  labels: Int32Array;
  areas: number[];
  boxes: { x0: number; y0: number; x1: number; y1: number }[];
}

/** 8-connected components of a mask. */
function connectedComponents(mask: Uint8Array, width: number, height: number): Components {
  const labels = new Int32Array(mask.length).fill(-1);
  const areas: number[] = [];
  const boxes: Components['boxes'] = [];
  const stack = new Int32Array(mask.length);
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start] !== -1) continue;
    const id = areas.length;
    let top = 0;
    stack[top++] = start;
    labels[start] = id;
    let area = 0;
    const box = { x0: width, y0: height, x1: -1, y1: -1 };
    while (top > 0) {
      const i = stack[--top];
      const x = i % width;
      const y = (i - x) / width;
      area++;
      if (x < box.x0) box.x0 = x;
      if (x > box.x1) box.x1 = x;
      if (y < box.y0) box.y0 = y;
      if (y > box.y1) box.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (mask[j] && labels[j] === -1) {
            labels[j] = id;
            stack[top++] = j;
          }
        }
      }
    }
    areas.push(area);
    boxes.push(box);
  }
  return { labels, areas, boxes };
}

/**
 * Resamples a grey image to dw x dh. Shrinking averages the source area under each target pixel
 * (exact box filter, the anti-aliasing MNIST used); enlarging interpolates bilinearly.
 */
function resample(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  const horizontal = resampleAxis(src, sw, sh, dw, true);
  return resampleAxis(horizontal, dw, sh, dh, false);
}

function resampleAxis(src: Float32Array, sw: number, sh: number, target: number, alongX: boolean): Float32Array {
  const length = alongX ? sw : sh;
  const lines = alongX ? sh : sw;
  const out = new Float32Array(alongX ? target * sh : sw * target);
  const read = (line: number, k: number) => (alongX ? src[line * sw + k] : src[k * sw + line]);
  const write = (line: number, k: number, v: number) => {
    if (alongX) out[line * target + k] = v;
    else out[k * sw + line] = v;
  };
  const scale = length / target;
  for (let k = 0; k < target; k++) {
    if (scale >= 1) {
      const from = k * scale;
      const to = from + scale;
      for (let line = 0; line < lines; line++) {
        let sum = 0;
        for (let s = Math.floor(from); s < Math.ceil(to) && s < length; s++) {
          const overlap = Math.min(to, s + 1) - Math.max(from, s);
          if (overlap > 0) sum += overlap * read(line, s);
        }
        write(line, k, sum / scale);
      }
    } else {
      const position = Math.min(length - 1, Math.max(0, (k + 0.5) * scale - 0.5));
      const left = Math.floor(position);
      const right = Math.min(length - 1, left + 1);
      const fraction = position - left;
      for (let line = 0; line < lines; line++) {
        write(line, k, read(line, left) * (1 - fraction) + read(line, right) * fraction);
      }
    }
  }
  return out;
}

/**
 * Places a patch (values in [0, 1]) in a 28x28 frame so that its centre of mass lands on the
 * frame's centre (pixel-index coordinates, as MNIST: mean 14.0), shifting by whole pixels.
 */
function centreByMass(patch: Float32Array, pw: number, ph: number): Float32Array {
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < ph; y++) {
    for (let x = 0; x < pw; x++) {
      const v = patch[y * pw + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  const cx = mass > 0 ? mx / mass : (pw - 1) / 2;
  const cy = mass > 0 ? my / mass : (ph - 1) / 2;
  const ox = Math.round(FRAME_CENTRE - cx);
  const oy = Math.round(FRAME_CENTRE - cy);
  const frame = new Float32Array(PIXELS);
  for (let y = 0; y < ph; y++) {
    const fy = y + oy;
    if (fy < 0 || fy >= IMAGE_SIZE) continue;
    for (let x = 0; x < pw; x++) {
      const fx = x + ox;
      if (fx < 0 || fx >= IMAGE_SIZE) continue;
      frame[fy * IMAGE_SIZE + fx] = Math.min(1, Math.max(0, patch[y * pw + x]));
    }
  }
  return frame;
}

// ---------------------------------------------------------------------------------------------
// The seed's pipeline.

async function seedPipeline(image: LoadedImage): Promise<PreparedImage> {
  const notes = ['seed pipeline: whole picture resized to 28x28, grey, inverted, threshold 50'];
  // PIL: img.resize((28, 28), Image.ANTIALIAS) then convert('L'); no EXIF rotation, alpha dropped.
  const { data, info } = await decodeRaw(
    image,
    (decoded) =>
      decoded
        .resize(IMAGE_SIZE, IMAGE_SIZE, { fit: 'fill', kernel: 'lanczos3' })
        .toColourspace('srgb')
        .removeAlpha()
        .raw({ depth: 'uchar' }),
    notes,
  );
  const pixels = new Float32Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) {
    const o = i * info.channels;
    const grey = info.channels >= 3 ? luma601(data[o], data[o + 1], data[o + 2]) : data[o];
    pixels[i] = 255 - grey < SEED_THRESHOLD ? 0 : 1;
  }
  return {
    pixels,
    width: image.width,
    height: image.height,
    format: image.format,
    inverted: true,
    notes,
  };
}

// ---------------------------------------------------------------------------------------------
// The MNIST-like pipeline.

/** The picture reduced to one ink signal at working resolution, and where the ink is. */
interface InkAnalysis {
  image: LoadedImage;
  width: number;
  height: number;
  /** Working pixels per original pixel. */
  scale: number;
  /** Ink strength 0..1 per pixel (0 for background). */
  ink: Float32Array;
  components: Components;
  /** Ids of the components that are ink, not specks. */
  kept: number[];
  inverted: boolean;
  notes: string[];
}

async function decodeWorking(image: LoadedImage, notes: string[]): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await decodeRaw(
    image,
    (decoded) =>
      decoded
        .autoOrient()
        .resize({ width: WORKING_SIDE, height: WORKING_SIDE, fit: 'inside', withoutEnlargement: true })
        .toColourspace('srgb')
        .ensureAlpha()
        .raw({ depth: 'uchar' }),
    notes,
  );
  return { data, width: info.width, height: info.height };
}

/**
 * Composites transparency and reduces to grey (0..255). The backdrop is chosen so that what is
 * drawn stands out: a one-tone drawing on a transparent canvas (e.g. black strokes whose only
 * information is alpha) goes onto the opposite tone; a picture that has both paper and ink in
 * its opaque part gets its paper's tone, so transparent margins merge into the paper.
 */
function flattenToGrey(data: Buffer, count: number, notes: string[]): Float32Array {
  const grey = new Float32Array(count);
  const alpha = new Float32Array(count);
  let transparent = 0;
  for (let i = 0; i < count; i++) {
    const o = i * 4;
    grey[i] = luma601(data[o], data[o + 1], data[o + 2]);
    alpha[i] = data[o + 3] / 255;
    if (data[o + 3] < 250) transparent++;
  }
  if (transparent === 0) return grey;
  const opaqueMask = new Uint8Array(count);
  for (let i = 0; i < count; i++) opaqueMask[i] = alpha[i] >= 0.5 ? 1 : 0;
  const opaque = histogramOf(grey, opaqueMask);
  let opaqueCount = 0;
  let opaqueSum = 0;
  for (let v = 0; v < 256; v++) {
    opaqueCount += opaque[v];
    opaqueSum += v * opaque[v];
  }
  let backdrop: number;
  if (opaqueCount === 0) {
    backdrop = 255;
  } else {
    const classes = otsuClasses(opaque);
    const twoTone =
      classes.highMean - classes.lowMean >= 48 &&
      Math.min(classes.lowCount, classes.highCount) >= 0.02 * opaqueCount;
    if (twoTone) backdrop = classes.lowCount >= classes.highCount ? classes.lowMean : classes.highMean;
    else backdrop = opaqueSum / opaqueCount < 128 ? 255 : 0;
  }
  for (let i = 0; i < count; i++) grey[i] = alpha[i] * grey[i] + (1 - alpha[i]) * backdrop;
  notes.push(`transparent areas composited onto ${backdrop >= 128 ? 'white' : 'black'}`);
  return grey;
}

/** The value below which `fraction` of a 256-bin histogram lies. */
function percentile(histogram: Float64Array, fraction: number): number {
  let total = 0;
  for (let v = 0; v < 256; v++) total += histogram[v];
  if (fraction >= 1) {
    for (let v = 255; v > 0; v--) if (histogram[v] > 0) return v;
    return 0;
  }
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += histogram[v];
    if (seen > fraction * total) return v;
  }
  return 255;
}

/** Median and a robust standard deviation (1.4826 x median absolute deviation) of some values. */
function robustSpread(values: Float32Array, include?: Uint8Array): { median: number; sigma: number } {
  const median = percentile(histogramOf(values, include), 0.5);
  // The histogram of |value - median| in one pass, without an array of deviations.
  const deviations = new Float64Array(256);
  for (let i = 0; i < values.length; i++) {
    if (include && !include[i]) continue;
    const d = Math.round(Math.abs(values[i] - median));
    deviations[d > 255 ? 255 : d]++;
  }
  return { median, sigma: 1.4826 * percentile(deviations, 0.5) };
}

/**
 * True when the ink is darker than the background. The border is taken to be background (its
 * median); ink is whichever extreme of the picture lies further from it. This holds for a tiny
 * digit in a noisy photo, where the two Otsu classes would only split the noise.
 */
function hasLightBackground(grey: Float32Array, width: number, height: number): { light: boolean; contrast: number } {
  const ring = Math.max(1, Math.round(Math.min(width, height) * 0.02));
  const border = new Float64Array(256);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x >= ring && x < width - ring && y >= ring && y < height - ring) continue;
      border[Math.round(grey[y * width + x])]++;
    }
  }
  const paper = percentile(border, 0.5);
  const all = histogramOf(grey);
  const extents = (fraction: number) => {
    const darkest = paper - percentile(all, fraction);
    const lightest = percentile(all, 1 - fraction) - paper;
    return { light: darkest >= lightest, contrast: Math.max(darkest, lightest) };
  };
  const tails = extents(TAIL_FRACTION);
  // Very little ink (a fine pen, far away): judge by the extremes themselves.
  return tails.contrast >= MIN_INK_CONTRAST ? tails : extents(0);
}

async function analyseInk(image: LoadedImage): Promise<InkAnalysis> {
  const notes: string[] = [];
  if (image.orientation > 1) notes.push(`turned upright using its EXIF orientation (${image.orientation})`);
  if (image.pages > 1) notes.push(`used the first of its ${image.pages} frames`);
  const { data, width, height } = await decodeWorking(image, notes);
  const scale = width / image.width;
  if (scale < 1) notes.push(`analysed at ${width}x${height} (reduced from ${image.width}x${image.height})`);
  const count = width * height;
  const grey = flattenToGrey(data, count, notes);

  const polarity = hasLightBackground(grey, width, height);
  if (polarity.contrast < MIN_INK_CONTRAST) {
    throw new ImageError('no-ink', image.name, 'no ink found: the picture looks empty (it is almost one flat tone)');
  }
  const inverted = polarity.light;
  notes.push(inverted ? 'dark ink on a light background: inverted' : 'light ink on a dark background: kept as is');

  // Ink signal 0..255 (ink high). The background is fitted as a smooth surface, robustly: fit,
  // then drop what stands out by more than 3 sigma (ink), and fit again.
  const signal = new Float32Array(count);
  for (let i = 0; i < count; i++) signal[i] = inverted ? 255 - grey[i] : grey[i];
  const isBackground = new Uint8Array(count);
  {
    const cut = percentile(histogramOf(signal), 0.9);
    for (let i = 0; i < count; i++) isBackground[i] = signal[i] <= cut ? 1 : 0;
  }
  let background: Float32Array = new Float32Array(count);
  const residual = new Float32Array(count);
  for (let round = 0; round < 3; round++) {
    background = fitBackground(signal, width, height, isBackground);
    for (let i = 0; i < count; i++) residual[i] = signal[i] - background[i] + 128;
    const { median, sigma } = robustSpread(residual, isBackground);
    const limit = median + Math.max(3 * sigma, 4);
    for (let i = 0; i < count; i++) isBackground[i] = residual[i] <= limit ? 1 : 0;
  }
  // Ink relative to the paper: with light paper, divide (lighting scales paper and ink alike).
  const flat = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (inverted) {
      const paper = Math.max(1, 255 - background[i]);
      flat[i] = Math.max(0, Math.min(255, 255 * (1 - grey[i] / paper)));
    } else {
      flat[i] = Math.max(0, Math.min(255, signal[i] - background[i]));
    }
  }

  // Threshold: Otsu's, but never inside the background's noise (Otsu splits the noise when the
  // ink is a tiny part of the picture).
  // Small pictures (an MNIST-sized image) have no sensor noise worth smoothing, and blurring
  // them would smear their strokes.
  const smooth = Math.min(width, height) >= SMOOTH_MIN_SIDE ? boxBlur3(flat, width, height) : flat;
  const noise = robustSpread(smooth, isBackground);
  const noiseFloor = noise.median + Math.max(NOISE_SIGMAS * noise.sigma, 2);
  const threshold = Math.max(otsuThreshold(histogramOf(smooth)), Math.ceil(noiseFloor));
  let inkSum = 0;
  let inkCount = 0;
  for (let i = 0; i < count; i++) {
    if (smooth[i] <= threshold) continue;
    inkSum += smooth[i];
    inkCount++;
  }
  const inkLevel = inkCount ? inkSum / inkCount : 0;
  const contrast = inkLevel - noise.median;
  if (inkCount === 0 || contrast < MIN_INK_CONTRAST || contrast < INK_SIGMAS * noise.sigma) {
    throw new ImageError('no-ink', image.name, 'no ink found: the picture looks empty (nothing stands out from the background)');
  }
  const classes = { threshold, highMean: inkLevel };
  const mask = new Uint8Array(count);
  for (let i = 0; i < count; i++) mask[i] = smooth[i] > classes.threshold ? 1 : 0;
  const components = connectedComponents(mask, width, height);
  // A dark band along the edge (the table beside the paper, a shadow) is not writing: a digit
  // touching the edge crosses it with a few strokes, a band runs along it. Drop such bands when
  // something else is left.
  const contact = edgeContact(components.labels, width, height, components.areas.length);
  const bands = new Set<number>();
  for (let id = 0; id < components.areas.length; id++) {
    if (contact[id] >= EDGE_BAND_FRACTION * Math.min(width, height)) bands.add(id);
  }
  const candidates = [...components.areas.keys()].filter((id) => !bands.has(id));
  if (candidates.length === 0) bands.clear();
  let largest = 0;
  for (let id = 0; id < components.areas.length; id++) if (!bands.has(id)) largest = Math.max(largest, components.areas[id]);
  const kept: number[] = [];
  for (let id = 0; id < components.areas.length; id++) {
    if (!bands.has(id) && components.areas[id] >= Math.max(2, SPECK_FRACTION * largest)) kept.push(id);
  }
  const dropped = components.areas.length - kept.length - bands.size;
  if (bands.size > 0) notes.push(`ignored ${bands.size} dark band${bands.size === 1 ? '' : 's'} along the picture's edge`);
  if (dropped > 0) notes.push(`ignored ${dropped} speck${dropped === 1 ? '' : 's'}`);
  if (kept.length === 0) throw new ImageError('no-ink', image.name, 'no ink found: the picture looks empty');

  // Ink strength: 0 at the threshold, 1 from the ink's typical level up; edges keep their grey.
  const low = classes.threshold;
  const high = Math.max(low + 1, classes.highMean);
  const keptSet = new Uint8Array(components.areas.length);
  for (const id of kept) keptSet[id] = 1;
  const ink = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const id = components.labels[i];
    if (id < 0 || !keptSet[id]) continue;
    ink[i] = Math.min(1, Math.max(0, (flat[i] - low) / (high - low)));
  }
  return { image, width, height, scale, ink, components, kept, inverted, notes };
}

/** Crops the given components' ink, fits it in the 20x20 box and centres it by mass in 28x28. */
function normaliseDigit(analysis: InkAnalysis, ids: number[]): { pixels: Float32Array; region: ImageRegion; note: string } {
  const { width, components, ink, scale } = analysis;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (const id of ids) {
    const box = components.boxes[id];
    x0 = Math.min(x0, box.x0);
    y0 = Math.min(y0, box.y0);
    x1 = Math.max(x1, box.x1);
    y1 = Math.max(y1, box.y1);
  }
  const boxWidth = x1 - x0 + 1;
  const boxHeight = y1 - y0 + 1;
  const wanted = new Set(ids);
  const mask = new Uint8Array(boxWidth * boxHeight);
  const values = new Float32Array(boxWidth * boxHeight);
  for (let y = 0; y < boxHeight; y++) {
    for (let x = 0; x < boxWidth; x++) {
      const i = (y + y0) * width + (x + x0);
      if (!wanted.has(components.labels[i])) continue;
      mask[y * boxWidth + x] = 1;
      values[y * boxWidth + x] = ink[i];
    }
  }
  // A fine pen leaves strokes far thinner than MNIST's once the digit is 20 px tall: thicken them.
  const strokeWidth = estimateStrokeWidth(mask, boxWidth, boxHeight);
  const boxScale = BOX_SIZE / Math.max(boxWidth, boxHeight);
  let radius = 0;
  if (strokeWidth * boxScale < MIN_STROKE_WIDTH) {
    radius = Math.min(Math.round((TARGET_STROKE_WIDTH / boxScale - strokeWidth) / 2), Math.ceil(Math.max(boxWidth, boxHeight) / 10));
  }
  const { pixels: crop, width: cw, height: ch } =
    radius > 0 ? dilate(values, boxWidth, boxHeight, radius) : { pixels: values, width: boxWidth, height: boxHeight };
  const fit = BOX_SIZE / Math.max(cw, ch);
  const pw = Math.max(1, Math.min(BOX_SIZE, Math.round(cw * fit)));
  const ph = Math.max(1, Math.min(BOX_SIZE, Math.round(ch * fit)));
  const patch = resample(crop, cw, ch, pw, ph);
  const region = {
    x: Math.floor(x0 / scale),
    y: Math.floor(y0 / scale),
    width: Math.max(1, Math.round(boxWidth / scale)),
    height: Math.max(1, Math.round(boxHeight / scale)),
  };
  const thickened = radius > 0 ? `, thin strokes thickened to MNIST's width` : '';
  return {
    pixels: centreByMass(patch, pw, ph),
    region,
    note: `ink box ${region.width}x${region.height} at (${region.x}, ${region.y}) scaled to ${pw}x${ph}${thickened}, centred by mass`,
  };
}

/** How many edge pixels of the picture each component covers. */
function edgeContact(labels: Int32Array, width: number, height: number, count: number): Uint32Array {
  const contact = new Uint32Array(count);
  const touch = (i: number) => {
    if (labels[i] >= 0) contact[labels[i]]++;
  };
  for (let x = 0; x < width; x++) {
    touch(x);
    if (height > 1) touch((height - 1) * width + x);
  }
  for (let y = 1; y < height - 1; y++) {
    touch(y * width);
    if (width > 1) touch(y * width + width - 1);
  }
  return contact;
}

/**
 * Mean stroke width of a mask, in pixels: area over half the boundary length (a stroke of
 * width w and length L has area wL and 2L of boundary).
 */
function estimateStrokeWidth(mask: Uint8Array, width: number, height: number): number {
  let area = 0;
  let edges = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      area++;
      if (x === 0 || !mask[y * width + x - 1]) edges++;
      if (x === width - 1 || !mask[y * width + x + 1]) edges++;
      if (y === 0 || !mask[(y - 1) * width + x]) edges++;
      if (y === height - 1 || !mask[(y + 1) * width + x]) edges++;
    }
  }
  return edges ? (2 * area) / edges : 0;
}

/** Grey dilation by a (2r+1)-square, separably; the image grows by r on every side. */
function dilate(values: Float32Array, width: number, height: number, radius: number) {
  const w = width + 2 * radius;
  const h = height + 2 * radius;
  const padded = new Float32Array(w * h);
  for (let y = 0; y < height; y++) padded.set(values.subarray(y * width, (y + 1) * width), (y + radius) * w + radius);
  const across = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let best = 0;
      for (let k = Math.max(0, x - radius); k <= Math.min(w - 1, x + radius); k++) best = Math.max(best, padded[y * w + k]);
      across[y * w + x] = best;
    }
  }
  const pixels = new Float32Array(w * h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      let best = 0;
      for (let k = Math.max(0, y - radius); k <= Math.min(h - 1, y + radius); k++) best = Math.max(best, across[k * w + x]);
      pixels[y * w + x] = best;
    }
  }
  return { pixels, width: w, height: h };
}

/** The model input made from some of the analysed picture's ink components. */
function preparedDigit(analysis: InkAnalysis, ids: number[], notes: string[] = []): PreparedImage {
  const { image } = analysis;
  const digit = normaliseDigit(analysis, ids);
  return {
    pixels: digit.pixels,
    width: image.width,
    height: image.height,
    format: image.format,
    inverted: analysis.inverted,
    notes: [...analysis.notes, ...notes, digit.note],
    region: digit.region,
  };
}

async function mnistPipeline(image: LoadedImage): Promise<PreparedImage> {
  const analysis = await analyseInk(image);
  return preparedDigit(analysis, analysis.kept);
}

// ---------------------------------------------------------------------------------------------
// Public API.

/**
 * Turns a picture (file path or encoded bytes) into the model's input: 784 floats in [0, 1],
 * ink = 1, row-major 28x28 (reshape to [1, 28, 28, 1] for the model). Throws `ImageError`.
 */
export async function preprocessImage(input: Uint8Array | string, options: PreprocessOptions = {}): Promise<PreparedImage> {
  const image = await loadImage(input, options.fileName, options.decodeBudgetMs);
  return (options.mode ?? 'mnist') === 'seed' ? seedPipeline(image) : mnistPipeline(image);
}

/** "What the model sees" as 784 grey bytes (ink = 255), row-major 28x28, for display. */
export function preprocessToPreview(prepared: Pick<PreparedImage, 'pixels'>): Uint8Array {
  const preview = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) preview[i] = Math.round(Math.min(1, Math.max(0, prepared.pixels[i])) * 255);
  return preview;
}

export interface SegmentOptions {
  fileName?: string;
  /** How long decoding may take, in ms (default PICTURE_LIMITS.decodeSeconds). */
  decodeBudgetMs?: number;
  /** Refuse pictures with more digits than this (default 32). */
  maxDigits?: number;
}

/**
 * Splits a picture of several digits in a row (e.g. "2026") into single digits, left to right,
 * each prepared the MNIST way. Ink blobs whose columns overlap belong to one digit (the two
 * strokes of a "5", a broken "4"). Digits written joined together come out as one.
 */
export async function segmentDigits(input: Uint8Array | string, options: SegmentOptions = {}): Promise<PreparedImage[]> {
  const image = await loadImage(input, options.fileName, options.decodeBudgetMs);
  return segmentAnalysis(await analyseInk(image), options.maxDigits);
}

/** A picture read both ways from one decode: as one digit, and as a row of digits. */
export interface ReadPicture {
  /** All the ink as one digit (what `preprocessImage` returns). */
  whole: PreparedImage;
  /** The ink split into digits left to right (one entry when it is a single mark). */
  row: PreparedImage[];
}

/**
 * Decodes and analyses a picture once and prepares it both as one digit and as a row of digits,
 * so the caller can tell a single digit from "2024" without decoding twice. Throws `ImageError`.
 */
export async function readPicture(input: Uint8Array | string, options: SegmentOptions = {}): Promise<ReadPicture> {
  const image = await loadImage(input, options.fileName, options.decodeBudgetMs);
  const analysis = await analyseInk(image);
  const whole = preparedDigit(analysis, analysis.kept);
  let row: PreparedImage[];
  try {
    row = segmentAnalysis(analysis, options.maxDigits);
  } catch {
    row = [whole]; // too many marks for a row: still a (doubtful) single reading
  }
  return { whole, row };
}

function segmentAnalysis(analysis: InkAnalysis, maxDigits = 32): PreparedImage[] {
  const { image } = analysis;
  const { boxes } = analysis.components;
  const groups = analysis.kept
    .map((id) => ({ ids: [id], x0: boxes[id].x0, x1: boxes[id].x1 }))
    .sort((a, b) => a.x0 - b.x0);
  // Merge blobs whose column ranges overlap by half of the narrower one.
  let merged = true;
  while (merged) {
    merged = false;
    for (let a = 0; a < groups.length && !merged; a++) {
      for (let b = a + 1; b < groups.length && !merged; b++) {
        const overlap = Math.min(groups[a].x1, groups[b].x1) - Math.max(groups[a].x0, groups[b].x0) + 1;
        const narrower = Math.min(groups[a].x1 - groups[a].x0 + 1, groups[b].x1 - groups[b].x0 + 1);
        if (overlap >= narrower / 2) {
          groups[a] = {
            ids: [...groups[a].ids, ...groups[b].ids],
            x0: Math.min(groups[a].x0, groups[b].x0),
            x1: Math.max(groups[a].x1, groups[b].x1),
          };
          groups.splice(b, 1);
          merged = true;
        }
      }
    }
  }
  groups.sort((a, b) => a.x0 - b.x0);
  if (groups.length > maxDigits) {
    throw new ImageError('unsupported', image.name, `found ${groups.length} separate marks, more than the ${maxDigits} digits a row may have`);
  }
  return groups.map((group, index) => preparedDigit(analysis, group.ids, [`digit ${index + 1} of ${groups.length}`]));
}
