/**
 * Synthetic handwriting in a continental-European hand, for "teach it your own digits" tests and
 * the fine-tuning benchmark: digits drawn as pen strokes (SVG paths rendered by sharp), with a
 * crossed 7, a 1 with a long flag (and often a foot), a flat-topped 3, an open 4, a 9 with a
 * straight stem and, for some writers, a slashed 0. MNIST (American writers, 1990s) has few of
 * these, so a model trained on it alone misreads many of them.
 *
 * Every picture is its own "writer": slant, rotation, aspect, stroke width, pen pressure, wobble,
 * size and position on the paper are drawn from a seeded generator, so a set is reproducible from
 * its seed, and two seeds give two different samples of the same population (a fine-tuning set
 * and a held-out set of "other pictures of theirs").
 */
import sharp from 'sharp';
import { seededRandom } from './random.ts';

type Point = [number, number];
type Stroke = Point[];

/** Glyph box: x in [0, 0.6], y in [0, 1] (y down), before the writer's transform. */
const GLYPH_WIDTH = 0.6;
const ARC_POINTS = 24;

function arc(cx: number, cy: number, rx: number, ry: number, from: number, to: number, points = ARC_POINTS): Stroke {
  // Angles in turns (0 = right, 0.25 = down, as y grows downwards).
  return Array.from({ length: points + 1 }, (_, i) => {
    const a = 2 * Math.PI * (from + ((to - from) * i) / points);
    return [cx + rx * Math.cos(a), cy + ry * Math.sin(a)] as Point;
  });
}

/** How one writer forms the digits that have variants. */
interface HandVariants {
  slashedZero: boolean;
  footedOne: boolean;
  closedFour: boolean;
  curlyTwo: boolean;
  hookedNine: boolean;
  angularTwo: boolean;
  smallTopEight: boolean;
}

/** Pen strokes of each digit in the glyph box. `v` picks the writer's variants. */
const GLYPHS: ((v: HandVariants) => Stroke[])[] = [
  (v) => [arc(0.3, 0.5, 0.27, 0.48, -0.25, 0.77), ...(v.slashedZero ? [[[0.1, 0.88], [0.5, 0.12]] as Stroke] : [])],
  (v) => [
    [[0.0, 0.46], [0.38, 0.02], [0.38, 1.0]],
    ...(v.footedOne ? [[[0.14, 1.0], [0.58, 1.0]] as Stroke] : []),
  ],
  (v) => [
    v.angularTwo
      ? [[0.04, 0.2], [0.3, 0.0], [0.56, 0.18], [0.05, 0.98], [0.6, 0.98]]
      : [
      ...arc(0.3, 0.28, 0.26, 0.26, 0.55, 1.05, 14),
      [0.05, 0.98],
      ...(v.curlyTwo ? arc(0.13, 0.9, 0.08, 0.08, 0.0, 0.75, 8).reverse() : []),
      [0.6, 0.98],
    ],
  ],
  () => [[[0.05, 0.02], [0.56, 0.02], [0.24, 0.4], ...arc(0.28, 0.68, 0.29, 0.28, -0.32, 0.36, 18)]],
  (v) =>
    v.closedFour
      ? [[[0.46, 1.0], [0.46, 0.0], [0.04, 0.66], [0.6, 0.66]]]
      : [[[0.32, 0.0], [0.04, 0.66], [0.6, 0.66]], [[0.46, 0.3], [0.46, 1.0]]],
  () => [[[0.56, 0.02], [0.12, 0.02], [0.08, 0.44], ...arc(0.28, 0.68, 0.28, 0.27, -0.42, 0.36, 18)]],
  () => [[[0.5, 0.02], ...arc(0.32, 0.7, 0.26, 0.27, 0.56, 1.5, 28)]],
  () => [
    [[0.06, 0.14], [0.06, 0.04], [0.58, 0.04], [0.22, 1.0]],
    [[0.14, 0.52], [0.56, 0.52]],
  ],
  (v) =>
    v.smallTopEight
      ? [arc(0.32, 0.18, 0.13, 0.16, 0.25, 1.25), arc(0.3, 0.66, 0.29, 0.32, -0.25, 0.75)]
      : [arc(0.3, 0.26, 0.21, 0.23, 0.25, 1.25), arc(0.3, 0.72, 0.27, 0.26, -0.25, 0.75)],
  (v) => [
    v.hookedNine
      ? [...arc(0.3, 0.28, 0.25, 0.26, 0.0, 1.0), [0.54, 0.8], ...arc(0.34, 0.8, 0.2, 0.2, 0.0, 0.45, 10)]
      : [...arc(0.3, 0.28, 0.25, 0.26, 0.0, 1.0), [0.52, 1.0]],
  ],
];

export interface HandwrittenDigitOptions {
  /** Picks the writer and every random detail of the picture. */
  seed: number;
  /** Canvas side in pixels (default 128). */
  size?: number;
  format?: 'png' | 'jpeg';
}

/** Renders one digit (0-9) as an encoded picture: dark ink on light paper. */
export async function renderHandwrittenDigit(digit: number, options: HandwrittenDigitOptions): Promise<Buffer> {
  if (!Number.isInteger(digit) || digit < 0 || digit > 9) throw new RangeError(`digit must be 0..9, not ${digit}`);
  const random = seededRandom(options.seed * 7919 + digit * 104_729 + 1);
  const between = (lo: number, hi: number) => lo + (hi - lo) * random();
  const size = options.size ?? 128;
  const variants: HandVariants = {
    slashedZero: random() < 0.6,
    footedOne: random() < 0.6,
    closedFour: random() < 0.5,
    curlyTwo: random() < 0.7,
    hookedNine: random() < 0.5,
    angularTwo: random() < 0.4,
    smallTopEight: random() < 0.5,
  };
  // The writer: slant (shear), rotation, aspect, wobble amplitude and frequency.
  const slant = between(-0.25, 0.45);
  const rotation = between(-0.15, 0.15);
  const aspect = between(0.75, 1.25);
  const wobble = between(0.01, 0.04);
  const phase = [between(0, 6.3), between(0, 6.3)];
  const frequency = between(1.5, 3.5);
  // The picture: glyph height in pixels, centre, pen width, ink and paper tones.
  const height = size * between(0.45, 0.75);
  const centre = [size / 2 + between(-0.12, 0.12) * size, size / 2 + between(-0.1, 0.1) * size];
  const pen = height * between(0.035, 0.12);
  const ink = Math.round(between(10, 90));
  const paper = Math.round(between(215, 252));

  const cos = Math.cos(rotation);
  const sin = Math.sin(rotation);
  const place = ([x, y]: Point): Point => {
    const wx = x + wobble * Math.sin(frequency * Math.PI * y + phase[0]);
    const wy = y + wobble * Math.sin(frequency * Math.PI * x + phase[1]);
    // Centre the glyph box, shear by the slant (top leans right), scale, rotate, place.
    const gx = (wx - GLYPH_WIDTH / 2 - slant * (wy - 0.5)) * aspect * height;
    const gy = (wy - 0.5) * height;
    return [centre[0] + gx * cos - gy * sin, centre[1] + gx * sin + gy * cos];
  };
  const paths = GLYPHS[digit](variants)
    .map((stroke) => {
      const points = stroke.map(place);
      return `<path d="M${points.map(([x, y]) => `${x.toFixed(2)} ${y.toFixed(2)}`).join(' L')}"/>`;
    })
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">` +
    `<rect width="100%" height="100%" fill="rgb(${paper},${paper},${paper - 6})"/>` +
    `<g fill="none" stroke="rgb(${ink},${ink},${ink + 20})" stroke-width="${pen.toFixed(2)}" stroke-linecap="round" stroke-linejoin="round">${paths}</g></svg>`;
  const image = sharp(Buffer.from(svg));
  return options.format === 'jpeg' ? image.jpeg({ quality: 85 }).toBuffer() : image.png().toBuffer();
}

export interface HandwrittenSample {
  digit: number;
  /** File name inside its digit folder, e.g. "s11-003.png". */
  name: string;
  picture: Buffer;
}

/**
 * `perDigit` pictures of each digit, all from generator seed `seed` (picture i of digit d uses
 * seed * 100_000 + i, so two different `seed`s never share a picture).
 */
export async function renderHandwrittenSet(perDigit: number, seed: number): Promise<HandwrittenSample[]> {
  const samples: HandwrittenSample[] = [];
  for (let digit = 0; digit < 10; digit++) {
    for (let i = 0; i < perDigit; i++) {
      const picture = await renderHandwrittenDigit(digit, { seed: seed * 100_000 + i });
      samples.push({ digit, name: `s${seed}-${String(i).padStart(3, '0')}.png`, picture });
    }
  }
  return samples;
}
