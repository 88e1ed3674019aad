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
 * Decoding the file is imageDecoding.ts's job; the pixel routines are in pixels.ts.
 */
import { IMAGE_SIZE, PIXELS } from './dataset.ts';
import { ImageError, decodeRaw, loadImage, type LoadedImage } from './imageDecoding.ts';
import {
  boxBlur3,
  centreByMass,
  connectedComponents,
  dilate,
  edgeContact,
  estimateStrokeWidth,
  fitBackground,
  flattenToGrey,
  histogramOf,
  luma601,
  otsuThreshold,
  percentile,
  resample,
  robustSpread,
  type Components,
} from './pixels.ts';

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
 * Bump whenever a change to this module or pixels.ts changes any model input: cached inputs of
 * labelled pictures (labelledFolder.ts) are keyed by it.
 */
export const PREPROCESSING_VERSION = 'mnist-2026-11-29';
/**
 * Pictures are analysed at most this many pixels on a side. 384 reads the real-world bench as
 * well as 512 did (bench/realworld.ts, 100 per group) and keeps single-image prediction p95
 * under 50 ms (npm run bench); the analysis is plain JS over every working pixel.
 */
const WORKING_SIDE = 384;
/** MNIST's digits fit a 20x20 box inside the 28x28 frame. */
const BOX_SIZE = 20;
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

/** Decodes at working size and reduces the picture to grey, noting what was done. */
async function greyPicture(image: LoadedImage, notes: string[]): Promise<{ grey: Float32Array; width: number; height: number; scale: number }> {
  if (image.orientation > 1) notes.push(`turned upright using its EXIF orientation (${image.orientation})`);
  if (image.pages > 1) notes.push(`used the first of its ${image.pages} frames`);
  const { data, width, height } = await decodeWorking(image, notes);
  const scale = width / image.width;
  if (scale < 1) notes.push(`analysed at ${width}x${height} (reduced from ${image.width}x${image.height})`);
  const { grey, backdrop } = flattenToGrey(data, width * height);
  if (backdrop !== null) notes.push(`transparent areas composited onto ${backdrop >= 128 ? 'white' : 'black'}`);
  return { grey, width, height, scale };
}

/** Whether the ink is dark on light (to be inverted); refuses a picture of one flat tone. */
function choosePolarity(image: LoadedImage, grey: Float32Array, width: number, height: number, notes: string[]): boolean {
  const polarity = hasLightBackground(grey, width, height);
  if (polarity.contrast < MIN_INK_CONTRAST) {
    throw new ImageError('no-ink', image.name, 'no ink found: the picture looks empty (it is almost one flat tone)');
  }
  notes.push(polarity.light ? 'dark ink on a light background: inverted' : 'light ink on a dark background: kept as is');
  return polarity.light;
}

/**
 * Ink relative to the paper, 0..255 (ink high), and which pixels are background. The background
 * is fitted as a smooth surface, robustly: fit, drop what stands out by more than 3 sigma (ink),
 * fit again. With light paper the ink is divided by it (lighting scales paper and ink alike).
 */
function flattenLighting(grey: Float32Array, width: number, height: number, inverted: boolean): { flat: Float32Array; isBackground: Uint8Array } {
  const count = width * height;
  const signal = new Float32Array(count);
  for (let i = 0; i < count; i++) signal[i] = inverted ? 255 - grey[i] : grey[i];
  const isBackground = new Uint8Array(count);
  const cut = percentile(histogramOf(signal), 0.9);
  for (let i = 0; i < count; i++) isBackground[i] = signal[i] <= cut ? 1 : 0;
  let background: Float32Array = new Float32Array(count);
  const residual = new Float32Array(count);
  for (let round = 0; round < 3; round++) {
    background = fitBackground(signal, width, height, isBackground);
    for (let i = 0; i < count; i++) residual[i] = signal[i] - background[i] + 128;
    const { median, sigma } = robustSpread(residual, isBackground);
    const limit = median + Math.max(3 * sigma, 4);
    for (let i = 0; i < count; i++) isBackground[i] = residual[i] <= limit ? 1 : 0;
  }
  const flat = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (inverted) {
      const paper = Math.max(1, 255 - background[i]);
      flat[i] = Math.max(0, Math.min(255, 255 * (1 - grey[i] / paper)));
    } else {
      flat[i] = Math.max(0, Math.min(255, signal[i] - background[i]));
    }
  }
  return { flat, isBackground };
}

/**
 * The ink mask: Otsu's threshold, but never inside the background's noise (Otsu splits the noise
 * when the ink is a tiny part of the picture). Also returns the ink's typical level. Refuses a
 * picture where nothing stands out.
 */
function thresholdInk(
  image: LoadedImage,
  flat: Float32Array,
  isBackground: Uint8Array,
  width: number,
  height: number,
): { mask: Uint8Array; threshold: number; inkLevel: number } {
  // Small pictures (an MNIST-sized image) have no sensor noise worth smoothing, and blurring
  // them would smear their strokes.
  const smooth = Math.min(width, height) >= SMOOTH_MIN_SIDE ? boxBlur3(flat, width, height) : flat;
  const noise = robustSpread(smooth, isBackground);
  const noiseFloor = noise.median + Math.max(NOISE_SIGMAS * noise.sigma, 2);
  const threshold = Math.max(otsuThreshold(histogramOf(smooth)), Math.ceil(noiseFloor));
  const mask = new Uint8Array(smooth.length);
  let inkSum = 0;
  let inkCount = 0;
  for (let i = 0; i < smooth.length; i++) {
    if (smooth[i] <= threshold) continue;
    mask[i] = 1;
    inkSum += smooth[i];
    inkCount++;
  }
  const inkLevel = inkCount ? inkSum / inkCount : 0;
  const contrast = inkLevel - noise.median;
  if (inkCount === 0 || contrast < MIN_INK_CONTRAST || contrast < INK_SIGMAS * noise.sigma) {
    throw new ImageError('no-ink', image.name, 'no ink found: the picture looks empty (nothing stands out from the background)');
  }
  return { mask, threshold, inkLevel };
}

/**
 * The components that are writing. A dark band along the edge (the table beside the paper, a
 * shadow) is not: a digit touching the edge crosses it with a few strokes, a band runs along it.
 * Bands are dropped when something else is left; specks always are.
 */
function writingComponents(image: LoadedImage, components: Components, width: number, height: number, notes: string[]): number[] {
  const total = components.areas.length;
  const contact = edgeContact(components.labels, width, height, total);
  const bands = new Set<number>();
  for (let id = 0; id < total; id++) {
    if (contact[id] >= EDGE_BAND_FRACTION * Math.min(width, height)) bands.add(id);
  }
  if (bands.size === total) bands.clear();
  let largest = 0;
  for (let id = 0; id < total; id++) if (!bands.has(id)) largest = Math.max(largest, components.areas[id]);
  const kept: number[] = [];
  for (let id = 0; id < total; id++) {
    if (!bands.has(id) && components.areas[id] >= Math.max(2, SPECK_FRACTION * largest)) kept.push(id);
  }
  const dropped = total - kept.length - bands.size;
  if (bands.size > 0) notes.push(`ignored ${bands.size} dark band${bands.size === 1 ? '' : 's'} along the picture's edge`);
  if (dropped > 0) notes.push(`ignored ${dropped} speck${dropped === 1 ? '' : 's'}`);
  if (kept.length === 0) throw new ImageError('no-ink', image.name, 'no ink found: the picture looks empty');
  return kept;
}

/** Ink strength of the kept components: 0 at the threshold, 1 from the ink's typical level up; edges keep their grey. */
function inkStrength(flat: Float32Array, components: Components, kept: number[], threshold: number, inkLevel: number): Float32Array {
  const high = Math.max(threshold + 1, inkLevel);
  const keptSet = new Uint8Array(components.areas.length);
  for (const id of kept) keptSet[id] = 1;
  const ink = new Float32Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const id = components.labels[i];
    if (id < 0 || !keptSet[id]) continue;
    ink[i] = Math.min(1, Math.max(0, (flat[i] - threshold) / (high - threshold)));
  }
  return ink;
}

/** Finds the ink of a picture: grey, polarity, lighting flattened, threshold, components, strength. */
async function analyseInk(image: LoadedImage): Promise<InkAnalysis> {
  const notes: string[] = [];
  const { grey, width, height, scale } = await greyPicture(image, notes);
  const inverted = choosePolarity(image, grey, width, height, notes);
  const { flat, isBackground } = flattenLighting(grey, width, height, inverted);
  const { mask, threshold, inkLevel } = thresholdInk(image, flat, isBackground, width, height);
  const components = connectedComponents(mask, width, height);
  const kept = writingComponents(image, components, width, height, notes);
  const ink = inkStrength(flat, components, kept, threshold, inkLevel);
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
