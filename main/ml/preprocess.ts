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
 * Decoding the file is imageDecoding.ts's job, finding the ink inkAnalysis.ts's; the pixel
 * routines are in pixels.ts.
 */
import { IMAGE_SIZE, PIXELS } from './dataset.ts';
import { ImageError, decodeRaw, loadImage, type LoadedImage } from './imageDecoding.ts';
import { analyseInk, type InkAnalysis } from './inkAnalysis.ts';
import { centreByMass, dilate, estimateStrokeWidth, luma601, resample } from './pixels.ts';

export { ImageError, type ImageErrorCode } from './imageDecoding.ts';

export type PreprocessMode = 'mnist' | 'seed';

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
 * Bump whenever a change to this module, inkAnalysis.ts or pixels.ts changes any model input: cached inputs of
 * labelled pictures (labelledFolder.ts) are keyed by it.
 */
export const PREPROCESSING_VERSION = 'mnist-2026-11-29';
/** MNIST's digits fit a 20x20 box inside the 28x28 frame. */
const BOX_SIZE = 20;
/** The seed app's threshold, applied after inversion. */
const SEED_THRESHOLD = 50;
/**
 * Stroke width in the 20x20 box, in pixels: MNIST's strokes measure about 1.3 (10th percentile),
 * 1.9 (median) and 2.6 (90th) there. Thinner strokes are thickened to the median.
 */
const MIN_STROKE_WIDTH = 1.3;
const TARGET_STROKE_WIDTH = 1.9;

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
// The MNIST-like pipeline (the ink itself is found by inkAnalysis.ts).

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
