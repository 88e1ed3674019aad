/**
 * Finding the ink in a picture, as named steps: decode at working size and reduce to grey, choose
 * the polarity, flatten uneven lighting, threshold above the noise, drop edge bands and specks,
 * and grade each ink pixel's strength. preprocess.ts turns the result into MNIST-like digits.
 */
import { ImageError, decodeRaw, type LoadedImage } from './imageDecoding.ts';
import {
  boxBlur3,
  connectedComponents,
  edgeContact,
  fitBackground,
  flattenToGrey,
  histogramOf,
  otsuThreshold,
  percentile,
  robustSpread,
  type Components,
} from './pixels.ts';

/**
 * Pictures are analysed at most this many pixels on a side. 384 reads the real-world bench as
 * well as 512 did (bench/realworld.ts, 100 per group) and keeps single-image prediction p95
 * under 50 ms (npm run bench); the analysis is plain JS over every working pixel.
 */
const WORKING_SIDE = 384;
/** Ink must differ from the background by at least this much (0..255) to count as ink. */
const MIN_INK_CONTRAST = 24;
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

/** The picture reduced to one ink signal at working resolution, and where the ink is. */
export interface InkAnalysis {
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
export async function analyseInk(image: LoadedImage): Promise<InkAnalysis> {
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
