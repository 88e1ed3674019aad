/**
 * Renders test pictures with sharp: MNIST digits "photographed" on paper, typeset digits, and
 * small helpers to encode raw grey pixels. Used by tests and by the real-world benchmark, so
 * every picture is deterministic for a given seed. Lives outside main/ because it is never part
 * of the app: it shells out to `fc-list` for fonts and exists for tests and benchmarks only.
 */
import { execFileSync } from 'node:child_process';
import sharp, { type Sharp } from 'sharp';
import { IMAGE_SIZE } from '../main/ml/dataset.ts';
import { seededRandom } from '../main/ml/random.ts';

export type PictureFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff';
export type Paper = 'white' | 'grey' | 'gradient';

/** Fonts shipped by Debian's fonts-dejavu-core, which the tests rely on. */
export const TEST_FONT = 'DejaVu Sans';

function gaussian(random: () => number): number {
  const u = Math.max(1e-12, random());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export interface EncodeOptions {
  format?: PictureFormat;
  /** JPEG/WebP quality 1-100 (default 85). */
  quality?: number;
}

/** Encodes raw pixels (1 = grey, 3 = RGB, 4 = RGBA channels, row-major bytes) as an image file. */
export async function encodePixels(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  options: EncodeOptions = {},
): Promise<Buffer> {
  return encodeAs(sharp(pixels, { raw: { width, height, channels } }), options);
}

/** Encodes a sharp pipeline in the asked format (PNG by default). */
function encodeAs(image: Sharp, options: EncodeOptions): Promise<Buffer> {
  const quality = options.quality ?? 85;
  switch (options.format ?? 'png') {
    case 'jpeg':
      return image.jpeg({ quality }).toBuffer();
    case 'webp':
      return image.webp({ quality }).toBuffer();
    case 'gif':
      return image.gif().toBuffer();
    case 'tiff':
      return image.tiff().toBuffer();
    default:
      return image.png().toBuffer();
  }
}

/** Decodes any picture to grey bytes (luma), for checking what was rendered. */
export async function decodeGrey(bytes: Uint8Array): Promise<{ pixels: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(bytes).flatten({ background: '#ffffff' }).greyscale().raw().toBuffer({ resolveWithObject: true });
  const pixels = new Uint8Array(info.width * info.height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = data[i * info.channels];
  return { pixels, width: info.width, height: info.height };
}

export interface PhotoOptions extends EncodeOptions {
  /** Canvas size in pixels (default 400x300). */
  width?: number;
  height?: number;
  /** Canvas pixels per MNIST pixel: the 28x28 frame covers 28*scale pixels (default 8). */
  scale?: number;
  /** Offset of the digit frame's centre from the canvas centre, in pixels (default 0, 0). */
  offsetX?: number;
  offsetY?: number;
  paper?: Paper;
  /** Grey level of the ink (default 35). */
  inkTone?: number;
  /** Gaussian blur sigma in canvas pixels, as an out-of-focus photo (default 0 = none). */
  blur?: number;
  /** Standard deviation of sensor noise in grey levels (default 0). */
  noise?: number;
  /** Light ink on dark paper (chalk on a blackboard) instead of dark on light. */
  invert?: boolean;
  /**
   * A finer pen: only the enlarged digit's core above this level (0..1) is ink, so strokes come
   * out thinner (0.85 leaves roughly a third of MNIST's stroke width). Default 0.
   */
  fineness?: number;
  seed?: number;
}

function paperTone(paper: Paper, x: number, y: number, width: number, height: number, angle: number): number {
  if (paper === 'white') return 242;
  if (paper === 'grey') return 180;
  // A lamp on one side: 250 on the bright side down to 135 on the far side.
  const u = ((x / width - 0.5) * Math.cos(angle) + (y / height - 0.5) * Math.sin(angle)) / Math.SQRT2 + 0.5;
  return 250 - 115 * Math.min(1, Math.max(0, u));
}

/**
 * Renders an MNIST digit (784 bytes, ink = 255) as a photo of a handwritten digit: dark ink
 * on paper, enlarged smoothly, placed anywhere on a larger canvas, with uneven paper, blur,
 * noise and JPEG compression as asked. Returns the encoded file (RGB, slightly warm paper).
 */
export async function renderMnistDigitPhoto(pixels28: Uint8Array, options: PhotoOptions = {}): Promise<Buffer> {
  const width = options.width ?? 400;
  const height = options.height ?? 300;
  const scale = options.scale ?? 8;
  const frame = Math.max(1, Math.round(IMAGE_SIZE * scale));
  const random = seededRandom(options.seed ?? 1);
  const { data: enlarged, info } = await sharp(Buffer.from(pixels28), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
    .resize(frame, frame, { kernel: 'cubic', fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const left = Math.round(width / 2 + (options.offsetX ?? 0) - frame / 2);
  const top = Math.round(height / 2 + (options.offsetY ?? 0) - frame / 2);
  const inkTone = options.inkTone ?? 35;
  const fineness = Math.min(0.98, Math.max(0, options.fineness ?? 0));
  const angle = random() * 2 * Math.PI;
  const grey = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const paper = paperTone(options.paper ?? 'white', x, y, width, height, angle);
      const fx = x - left;
      const fy = y - top;
      const level = fx >= 0 && fy >= 0 && fx < frame && fy < frame ? enlarged[(fy * frame + fx) * info.channels] / 255 : 0;
      const coverage = Math.min(1, Math.max(0, (level - fineness) / (1 - fineness)));
      // Ink absorbs light: under a dim lamp it is darker too.
      grey[y * width + x] = paper * (1 - coverage) + inkTone * (paper / 250) * coverage;
    }
  }
  let tones = Uint8Array.from(grey, (v) => Math.round(v));
  if (options.blur && options.blur >= 0.3) {
    tones = new Uint8Array(
      await sharp(Buffer.from(tones), { raw: { width, height, channels: 1 } }).blur(options.blur).extractChannel(0).raw().toBuffer(),
    );
  }
  const rgb = new Uint8Array(width * height * 3);
  const noise = options.noise ?? 0;
  for (let i = 0; i < width * height; i++) {
    let v = tones[i] + (noise > 0 ? noise * gaussian(random) : 0);
    if (options.invert) v = 255 - v;
    // Warm paper: a little more red, a little less blue.
    rgb[i * 3] = clampByte(v + 4);
    rgb[i * 3 + 1] = clampByte(v);
    rgb[i * 3 + 2] = clampByte(v - 8);
  }
  return encodePixels(rgb, width, height, 3, options);
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

export interface TypesetOptions extends EncodeOptions {
  /** Font family as fontconfig knows it (default DejaVu Sans). */
  font?: string;
  /** Canvas size (default 200x200). */
  width?: number;
  height?: number;
  /** Font size in pixels (default 60% of the canvas height). */
  fontSize?: number;
  weight?: 'normal' | 'bold';
  italic?: boolean;
  /** Offset of the text centre from the canvas centre, in pixels. */
  offsetX?: number;
  offsetY?: number;
  /** Light text on a dark background. */
  invert?: boolean;
  /** Transparent background instead of paper (ink colour still dark, or light when inverted). */
  transparent?: boolean;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders text (e.g. "7" or "2026") with sharp's SVG renderer and returns the encoded file. */
export async function renderTypesetDigit(text: string | number, options: TypesetOptions = {}): Promise<Buffer> {
  const width = options.width ?? 200;
  const height = options.height ?? 200;
  const fontSize = options.fontSize ?? Math.round(height * 0.6);
  const ink = options.invert ? '#f0f0f0' : '#141414';
  const paper = options.invert ? '#181818' : '#fafafa';
  const background = options.transparent ? '' : `<rect width="100%" height="100%" fill="${paper}"/>`;
  const x = width / 2 + (options.offsetX ?? 0);
  const y = height / 2 + (options.offsetY ?? 0);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${background}` +
    `<text x="${x}" y="${y}" font-family="${escapeXml(options.font ?? TEST_FONT)}" font-size="${fontSize}" ` +
    `font-weight="${options.weight ?? 'normal'}" font-style="${options.italic ? 'italic' : 'normal'}" ` +
    `text-anchor="middle" dominant-baseline="central" fill="${ink}">${escapeXml(String(text))}</text></svg>`;
  const image = sharp(Buffer.from(svg));
  // JPEG has no transparency: a transparent drawing goes onto its paper colour.
  return encodeAs(options.format === 'jpeg' ? image.flatten({ background: paper }) : image, options);
}

/** Font families fontconfig knows on this machine (empty when fc-list is missing). */
export function listFontFamilies(): string[] {
  try {
    const output = execFileSync('fc-list', [':', 'family'], { encoding: 'utf8', timeout: 10_000 });
    const families = output
      .split('\n')
      .map((line) => line.split(',')[0].trim())
      .filter(Boolean);
    return [...new Set(families)].sort();
  } catch {
    return [];
  }
}
