/**
 * Pixel routines on plain arrays (grey values 0..255 or ink 0..1 in Float32Array, row-major,
 * `width` x `height`), with no sharp and no tensors: what the MNIST pipeline (preprocess.ts) is
 * built from. Each is exported and unit-tested on its own (pixels.test.ts).
 *
 * Longer than 400 lines on purpose: it is a toolbox of some fifteen short, independent routines
 * that a reader takes one at a time; splitting it would only scatter them.
 */
import { IMAGE_SIZE, PIXELS } from './dataset.ts';

/** The 28x28 frame's centre, in pixel-index coordinates (MNIST's centres of mass average 14.0). */
const FRAME_CENTRE = IMAGE_SIZE / 2;

/** ITU-R 601 luma as PIL's convert('L') computes it, in integers. */
export function luma601(r: number, g: number, b: number): number {
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
export function histogramOf(values: ArrayLike<number>, include?: Uint8Array): Float64Array {
  const histogram = new Float64Array(256);
  for (let i = 0; i < values.length; i++) {
    if (include && !include[i]) continue;
    const v = Math.round(values[i]);
    histogram[v < 0 ? 0 : v > 255 ? 255 : v]++;
  }
  return histogram;
}

export interface ClassStats {
  threshold: number;
  lowMean: number;
  highMean: number;
  lowCount: number;
  highCount: number;
}

export function otsuClasses(histogram: Float64Array): ClassStats {
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
export function boxBlur3(values: Float32Array, width: number, height: number): Float32Array {
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
export function solveLinear(a: number[][], b: number[]): number[] | null {
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
export function fitBackground(values: Float32Array, width: number, height: number, isBackground: Uint8Array): Float32Array {
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

export interface Components {
  /** Component id per pixel (-1 = not ink). */
  labels: Int32Array;
  areas: number[];
  boxes: { x0: number; y0: number; x1: number; y1: number }[];
}

/** 8-connected components of a mask. */
export function connectedComponents(mask: Uint8Array, width: number, height: number): Components {
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
export function resample(src: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
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
export function centreByMass(patch: Float32Array, pw: number, ph: number): Float32Array {
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

/**
 * Composites transparency and reduces to grey (0..255). The backdrop is chosen so that what is
 * drawn stands out: a one-tone drawing on a transparent canvas (e.g. black strokes whose only
 * information is alpha) goes onto the opposite tone; a picture that has both paper and ink in
 * its opaque part gets its paper's tone, so transparent margins merge into the paper.
 * `data` is RGBA bytes; `backdrop` is the grey level transparency went onto (null: all opaque).
 */
export function flattenToGrey(data: Uint8Array, count: number): { grey: Float32Array; backdrop: number | null } {
  const grey = new Float32Array(count);
  const alpha = new Float32Array(count);
  let transparent = 0;
  for (let i = 0; i < count; i++) {
    const o = i * 4;
    grey[i] = luma601(data[o], data[o + 1], data[o + 2]);
    alpha[i] = data[o + 3] / 255;
    if (data[o + 3] < 250) transparent++;
  }
  if (transparent === 0) return { grey, backdrop: null };
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
    const tones = otsuClasses(opaque);
    const twoTone = tones.highMean - tones.lowMean >= 48 && Math.min(tones.lowCount, tones.highCount) >= 0.02 * opaqueCount;
    if (twoTone) backdrop = tones.lowCount >= tones.highCount ? tones.lowMean : tones.highMean;
    else backdrop = opaqueSum / opaqueCount < 128 ? 255 : 0;
  }
  for (let i = 0; i < count; i++) grey[i] = alpha[i] * grey[i] + (1 - alpha[i]) * backdrop;
  return { grey, backdrop };
}

/** The value below which `fraction` of a 256-bin histogram lies. */
export function percentile(histogram: Float64Array, fraction: number): number {
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
export function robustSpread(values: Float32Array, include?: Uint8Array): { median: number; sigma: number } {
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

/** How many edge pixels of the picture each component covers. */
export function edgeContact(labels: Int32Array, width: number, height: number, count: number): Uint32Array {
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
export function estimateStrokeWidth(mask: Uint8Array, width: number, height: number): number {
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
export function dilate(values: Float32Array, width: number, height: number, radius: number) {
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
