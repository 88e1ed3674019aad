/**
 * The picture pipelines end to end on real encoded files (sharp decoding, both pipelines,
 * segmentation, every refusal). Longer than 400 lines on purpose: one table of real-world cases per
 * behaviour; the pure pixel routines are tested on their own in pixels.test.ts.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_SIZE, PIXELS } from './dataset.ts';
import { defaultMnistDir } from './mnist.ts';
import {
  ImageError,
  type ImageErrorCode,
  type PreparedImage,
  preprocessImage,
  preprocessToPreview,
  segmentDigits,
} from './preprocess.ts';
import { svgElementCount } from './imageDecoding.ts';
import { encodePixels, renderMnistDigitPhoto, renderTypesetDigit } from '../../test/testImages.ts';

/** The first few MNIST test digits (784 bytes each, ink = 255) and their labels. */
let digits: Uint8Array[] = [];
let scratch = '';

beforeAll(async () => {
  const file = await fs.readFile(path.join(defaultMnistDir(), 't10k-images-idx3-ubyte'));
  digits = Array.from({ length: 8 }, (_, k) => new Uint8Array(file.subarray(16 + k * PIXELS, 16 + (k + 1) * PIXELS)));
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'preprocess-test-'));
});

afterAll(async () => {
  if (scratch) await fs.rm(scratch, { recursive: true, force: true });
});

/** Pearson correlation of two images of the same size. */
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  const n = a.length;
  for (let i = 0; i < n; i++) {
    sa += a[i];
    sb += b[i];
    saa += a[i] * a[i];
    sbb += b[i] * b[i];
    sab += a[i] * b[i];
  }
  return (sab - (sa * sb) / n) / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n));
}

/** The best correlation over shifts of up to one pixel (centring by mass rounds to whole pixels). */
function shiftedCorrelation(a: Float32Array, b: ArrayLike<number>): number {
  let best = -1;
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      const shifted = new Float32Array(PIXELS);
      for (let y = 0; y < IMAGE_SIZE; y++) {
        for (let x = 0; x < IMAGE_SIZE; x++) {
          const sy = y + dy;
          const sx = x + dx;
          if (sy >= 0 && sy < IMAGE_SIZE && sx >= 0 && sx < IMAGE_SIZE) shifted[y * IMAGE_SIZE + x] = a[sy * IMAGE_SIZE + sx];
        }
      }
      best = Math.max(best, correlation(shifted, b));
    }
  }
  return best;
}

/** Centre of mass in pixel-index coordinates, and the bounding box of non-zero pixels. */
function geometry(pixels: Float32Array) {
  let mass = 0, mx = 0, my = 0;
  let x0 = IMAGE_SIZE, y0 = IMAGE_SIZE, x1 = -1, y1 = -1;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      const v = pixels[y * IMAGE_SIZE + x];
      if (v <= 0) continue;
      mass += v;
      mx += v * x;
      my += v * y;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return { cx: mx / mass, cy: my / mass, width: x1 - x0 + 1, height: y1 - y0 + 1, mass };
}

async function expectImageError(promise: Promise<unknown>, code: ImageErrorCode, text: RegExp): Promise<ImageError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageError);
  expect((error as ImageError).code).toBe(code);
  expect((error as ImageError).message).toMatch(text);
  return error as ImageError;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid ~1 KB PNG whose header declares width x height grey pixels (a decompression bomb). */
function declaredHugePng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc((width + 1) * 4))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('errors name the file and the problem', () => {
  it('refuses empty input, as bytes and as a 0-byte file', async () => {
    await expectImageError(preprocessImage(new Uint8Array(0), { fileName: 'scan.jpg' }), 'empty', /^scan\.jpg: the file is empty \(0 bytes\)$/);
    const file = path.join(scratch, 'zero.png');
    await fs.writeFile(file, '');
    await expectImageError(preprocessImage(file), 'empty', /^zero\.png: the file is empty/);
  });

  it('tells a truncated PNG and a truncated JPEG, quoting libvips', async () => {
    const png = await renderMnistDigitPhoto(digits[0], { noise: 10 });
    const jpeg = await renderMnistDigitPhoto(digits[0], { noise: 10, format: 'jpeg' });
    await expectImageError(preprocessImage(png.subarray(0, png.length >> 1), { fileName: 'cut.png' }), 'truncated', /^cut\.png: the file is truncated.*\(vipspng: .+\)$/);
    await expectImageError(preprocessImage(jpeg.subarray(0, jpeg.length >> 1), { fileName: 'photo.jpg' }), 'truncated', /^photo\.jpg: the file is truncated.*premature end/i);
  });

  it('calls a PNG with scrambled data corrupt', async () => {
    const png = Buffer.from(await renderMnistDigitPhoto(digits[0], { noise: 10 }));
    for (let i = 100; i < png.length - 100; i++) png[i] ^= 0x5a;
    await expectImageError(preprocessImage(png, { fileName: 'bad.png' }), 'corrupt', /^bad\.png: the file is truncated or corrupt \(.+\)$/);
  });

  it('still reads a JPEG with damaged data, but says so', async () => {
    const jpeg = Buffer.from(await renderMnistDigitPhoto(digits[0], { format: 'jpeg' }));
    for (let i = 1000; i < 1010; i++) jpeg[i] ^= 0x5a;
    const prepared = await preprocessImage(jpeg, { fileName: 'damaged.jpg' });
    expect(prepared.notes.join('\n')).toMatch(/damaged data/);
  });

  it('refuses files that are not pictures as unsupported, saying what they look like', async () => {
    await expectImageError(
      preprocessImage(Buffer.from('digit,label\n7,7\n'), { fileName: 'x.png' }),
      'unsupported',
      /^x\.png: not a picture this app can read \(unsupported format: it looks like text\)$/,
    );
    await expectImageError(
      preprocessImage(Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1'), { fileName: 'scan.pdf' }),
      'unsupported',
      /^scan\.pdf: not a picture this app can read \(unsupported format: it looks like a PDF document/,
    );
    const noise = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251);
    await expectImageError(preprocessImage(noise, { fileName: 'blob.bin' }), 'unsupported', /^blob\.bin: not a picture this app can read/);
  });

  it('has its own messages for a folder and a missing file', async () => {
    await expectImageError(preprocessImage(scratch), 'directory', /is a folder, not an image file$/);
    const missing = path.join(scratch, 'nope.png');
    await expectImageError(preprocessImage(missing), 'not-found', new RegExp(`^nope\\.png: no such file \\(${missing.replace(/[.\\/]/g, '\\$&')}\\)$`));
  });

  it('refuses a decompression bomb from its header, before decoding a pixel', async () => {
    const bomb = declaredHugePng(100_000, 100_000);
    expect(bomb.length).toBeLessThan(2000);
    // This message comes from the header check; libvips's own refusal would say "exceeds pixel limit".
    await expectImageError(preprocessImage(bomb, { fileName: 'big.png' }), 'too-large', /^big\.png: 100000x100000 pixels is larger than the 50-megapixel limit$/);
  });

  it('refuses a blank picture, clean or noisy, as having no ink', async () => {
    const blank = await encodePixels(new Uint8Array(120 * 90).fill(235), 120, 90, 1);
    await expectImageError(preprocessImage(blank, { fileName: 'blank.png' }), 'no-ink', /^blank\.png: no ink found: the picture looks empty/);
    const noisy = await renderMnistDigitPhoto(new Uint8Array(PIXELS), { noise: 12, paper: 'gradient', format: 'jpeg' });
    await expectImageError(preprocessImage(noisy, { fileName: 'paper.jpg' }), 'no-ink', /^paper\.jpg: no ink found/);
  });
});

/**
 * A small SVG whose <use> elements nest: `levels` deep, `fan` uses per level, fan^levels shapes
 * to draw from about 1.5 KB. 4 x 10 takes about 1 s to render here, 5 x 10 about 4.6 s.
 */
function nestedUseSvg(levels: number, fan: number): Uint8Array {
  let defs = '<g id="l0"><path d="M1 1h2v2z" stroke="#000"/></g>';
  for (let level = 1; level <= levels; level++) {
    let uses = '';
    for (let k = 0; k < fan; k++) uses += `<use href="#l${level - 1}" x="${k % 3}" y="${k % 2}"/>`;
    defs += `<g id="l${level}">${uses}</g>`;
  }
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><defs>${defs}</defs><use href="#l${levels}"/></svg>`);
}

describe('expensive pictures', () => {
  it('a picture that takes longer than its decode budget fails with too-slow, at the budget', async () => {
    const error = await expectImageError(
      preprocessImage(nestedUseSvg(4, 10), { fileName: 'bomb.svg', decodeBudgetMs: 50 }),
      'too-slow',
      /^bomb\.svg: the picture takes too long to decode \(over 0\.1 s\)/,
    );
    expect(error.message).not.toMatch(/garbled|damaged/);
  });

  it('refuses an SVG whose <use> copies draw too many shapes before rendering it, and counts plain ones right', async () => {
    await expectImageError(
      preprocessImage(nestedUseSvg(5, 10), { fileName: 'bomb.svg', decodeBudgetMs: 60_000 }),
      'too-large',
      /^bomb\.svg: the drawing has more than 50,000 shapes once its <use> copies are counted/,
    );
    const plain = '<svg xmlns="http://www.w3.org/2000/svg"><!-- <use href="#x"/> --><path d="M1 1h2"/><circle r="2"/><path id="x" d="M0 0"/></svg>';
    expect(svgElementCount(plain, 1e9)).toBe(4);
    // 10^3 paths drawn, each level's group and its 10 <use> elements counted at every copy.
    expect(svgElementCount(new TextDecoder().decode(nestedUseSvg(3, 10)), 1e9)).toBe(1 + 1 + (1 + 10 * (1 + 1 + 10 * (1 + 1 + 10 * (1 + 1 + 1)))));
    const cycle = '<svg xmlns="http://www.w3.org/2000/svg"><g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g><use href="#a"/></svg>';
    expect(svgElementCount(cycle, 1e9)).toBe(Infinity);
  });

  it('leaves threads for file reads while expensive pictures decode (HTTP in digits serve is not starved)', async () => {
    const order: string[] = [];
    // Four at once: as many as libuv's thread pool has threads (UV_THREADPOOL_SIZE unset).
    const decodes = Array.from({ length: 4 }, (_, i) =>
      preprocessImage(nestedUseSvg(4, 10), { fileName: `slow-${i}.svg`, decodeBudgetMs: 60_000 }).then(
        () => order.push('decode'),
        () => order.push('decode'),
      ),
    );
    // Let the four reach the thread pool, then read a file as the HTTP server would.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const read = fs.stat(scratch).then(() => order.push('file read'));
    await Promise.all([...decodes, read]);
    expect(order[0]).toBe('file read');
  });
});

describe('the MNIST pipeline', () => {
  it('puts the centre of mass within 1 px of (14, 14) and fits the ink in 20x20, for a small off-centre digit', async () => {
    for (const [k, offsetX, offsetY] of [[0, 250, -160], [1, -280, 170], [2, 0, 0]]) {
      const photo = await renderMnistDigitPhoto(digits[k], { width: 800, height: 600, scale: 2.5, offsetX, offsetY, noise: 6, seed: k });
      const prepared = await preprocessImage(photo, { fileName: 'small.png' });
      const { cx, cy, width, height } = geometry(prepared.pixels);
      expect(Math.abs(cx - 14)).toBeLessThanOrEqual(1);
      expect(Math.abs(cy - 14)).toBeLessThanOrEqual(1);
      expect(Math.max(width, height)).toBeLessThanOrEqual(20);
      expect(Math.max(width, height)).toBeGreaterThanOrEqual(19);
      expect(correlation(prepared.pixels, digits[k])).toBeGreaterThan(0.75);
      // The digit's location in the photo is reported in the photo's pixels.
      expect(Math.abs(prepared.region!.x + prepared.region!.width / 2 - (400 + offsetX))).toBeLessThan(20);
      // The seed's pipeline keeps it small: what it sees has far less ink, away from the centre.
      const seed = await preprocessImage(photo, { mode: 'seed' });
      const seedInk = seed.pixels.reduce((sum, v) => sum + v, 0);
      expect(seedInk).toBeLessThan(geometry(prepared.pixels).mass / 3);
    }
  });

  it('reads an MNIST digit itself (light on dark) nearly unchanged', async () => {
    for (const k of [0, 1, 2, 3]) {
      const png = await encodePixels(digits[k], IMAGE_SIZE, IMAGE_SIZE, 1);
      const prepared = await preprocessImage(png);
      expect(prepared.inverted).toBe(false);
      expect(shiftedCorrelation(prepared.pixels, digits[k])).toBeGreaterThan(0.9);
    }
  });

  it('handles dark-on-light and light-on-dark photos of the same digit alike', async () => {
    const dark = await preprocessImage(await renderMnistDigitPhoto(digits[3], { noise: 5 }));
    const light = await preprocessImage(await renderMnistDigitPhoto(digits[3], { noise: 5, invert: true }));
    expect(dark.inverted).toBe(true);
    expect(light.inverted).toBe(false);
    expect(correlation(dark.pixels, light.pixels)).toBeGreaterThan(0.95);
  });

  it('copes with paper lit from one side, blur and JPEG', async () => {
    const clean = await preprocessImage(await renderMnistDigitPhoto(digits[4], {}));
    const lamp = await preprocessImage(
      await renderMnistDigitPhoto(digits[4], { paper: 'gradient', blur: 1.5, noise: 6, format: 'jpeg', quality: 70, seed: 3 }),
    );
    expect(correlation(clean.pixels, lamp.pixels)).toBeGreaterThan(0.9);
    expect(Math.abs(lamp.region!.x - clean.region!.x)).toBeLessThan(8);
    expect(Math.abs(lamp.region!.width - clean.region!.width)).toBeLessThan(12);
  });

  it('ignores specks away from the digit', async () => {
    const width = 400;
    const height = 300;
    const photo = await renderMnistDigitPhoto(digits[5], { width, height });
    const { data } = await sharp(photo).raw().toBuffer({ resolveWithObject: true });
    for (const [sx, sy] of [[20, 20], [370, 30], [30, 270], [380, 280]]) {
      for (let y = sy; y < sy + 3; y++) for (let x = sx; x < sx + 3; x++) data.fill(30, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
    const specked = await encodePixels(data, width, height, 3);
    const clean = await preprocessImage(photo);
    const prepared = await preprocessImage(specked);
    expect(prepared.region).toEqual(clean.region);
    expect(prepared.notes.join('\n')).toMatch(/ignored 4 specks/);
  });

  it('ignores a dark band along the edge, such as the table beside the paper', async () => {
    const width = 400;
    const height = 300;
    const photo = await renderMnistDigitPhoto(digits[3], { width, height, scale: 6, offsetX: 40 });
    const { data } = await sharp(photo).raw().toBuffer({ resolveWithObject: true });
    for (let y = 0; y < height; y++) for (let x = 0; x < 30 + (y >> 4); x++) data.fill(45, (y * width + x) * 3, (y * width + x) * 3 + 3);
    const prepared = await preprocessImage(await encodePixels(data, width, height, 3));
    const clean = await preprocessImage(photo);
    expect(prepared.region).toEqual(clean.region);
    expect(prepared.notes.join('\n')).toMatch(/ignored 1 dark band along the picture's edge/);
    // A digit that merely touches the edge is kept whole.
    const cropped = await renderMnistDigitPhoto(digits[3], { width: 110, height: 110, scale: 6 });
    const touching = await preprocessImage(cropped);
    expect(touching.region!.y).toBe(0);
    expect(touching.region!.height).toBe(110);
    expect(touching.notes.join('\n')).not.toMatch(/dark band/);
    expect(shiftedCorrelation(touching.pixels, digits[3])).toBeGreaterThan(0.85);
  });

  it('composites a transparent PNG whose strokes live only in alpha (RGB black everywhere)', async () => {
    const size = 112;
    const enlarged = await sharp(Buffer.from(digits[6]), { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
      .resize(size, size, { kernel: 'cubic' })
      .extractChannel(0)
      .raw()
      .toBuffer();
    const rgba = new Uint8Array(size * size * 4);
    for (let i = 0; i < size * size; i++) rgba[i * 4 + 3] = enlarged[i]; // RGB stays 0
    const blackInk = await preprocessImage(await encodePixels(rgba, size, size, 4), { fileName: 'drawing.png' });
    for (let i = 0; i < size * size; i++) rgba.fill(255, i * 4, i * 4 + 3); // white strokes, same alpha
    const whiteInk = await preprocessImage(await encodePixels(rgba, size, size, 4));
    const opaque = await preprocessImage(await encodePixels(new Uint8Array(enlarged), size, size, 1));
    expect(blackInk.inverted).toBe(true);
    expect(blackInk.notes.join('\n')).toMatch(/composited onto white/);
    expect(whiteInk.notes.join('\n')).toMatch(/composited onto black/);
    expect(correlation(blackInk.pixels, opaque.pixels)).toBeGreaterThan(0.97);
    expect(correlation(whiteInk.pixels, opaque.pixels)).toBeGreaterThan(0.97);
  });

  it('keeps transparent margins around an opaque sheet out of the ink', async () => {
    const width = 300;
    const height = 240;
    const sheet = await renderMnistDigitPhoto(digits[7], { width: 200, height: 160, scale: 4 });
    const { data } = await sharp(sheet).raw().toBuffer({ resolveWithObject: true });
    const rgba = new Uint8Array(width * height * 4);
    for (let y = 0; y < 160; y++) {
      for (let x = 0; x < 200; x++) {
        const o = ((y + 40) * width + x + 50) * 4;
        rgba.set(data.subarray((y * 200 + x) * 3, (y * 200 + x) * 3 + 3), o);
        rgba[o + 3] = 255;
      }
    }
    const prepared = await preprocessImage(await encodePixels(rgba, width, height, 4));
    const reference = await preprocessImage(sheet);
    expect(correlation(prepared.pixels, reference.pixels)).toBeGreaterThan(0.97);
  });

  it('uses the first frame of an animated GIF', async () => {
    // Frame 1: a tall bar; frame 2: a wide bar. The result must be tall.
    const size = 60;
    const frames = new Uint8Array(size * size * 2 * 3).fill(255);
    for (let y = 10; y < 50; y++) for (let x = 27; x < 33; x++) frames.fill(0, (y * size + x) * 3, (y * size + x) * 3 + 3);
    for (let y = size + 27; y < size + 33; y++) for (let x = 10; x < 50; x++) frames.fill(0, (y * size + x) * 3, (y * size + x) * 3 + 3);
    const gif = await sharp(frames, { raw: { width: size, height: size * 2, channels: 3, pageHeight: size } }).gif().toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const prepared = await preprocessImage(gif, { fileName: 'anim.gif' });
    const { width, height } = geometry(prepared.pixels);
    expect(height).toBe(20);
    expect(width).toBeLessThan(8);
    expect(prepared.notes.join('\n')).toMatch(/first of its 2 frames/);
  });

  it('turns a photo upright from its EXIF orientation', async () => {
    // Stored wide with a horizontal bar; orientation 6 means "rotate 90 degrees to view".
    const stored = new Uint8Array(90 * 30).fill(250);
    for (let y = 12; y < 18; y++) stored.fill(20, y * 90 + 10, y * 90 + 80);
    const jpeg = await sharp(stored, { raw: { width: 90, height: 30, channels: 1 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const prepared = await preprocessImage(jpeg);
    expect([prepared.width, prepared.height]).toEqual([30, 90]);
    const { width, height } = geometry(prepared.pixels);
    expect(height).toBe(20);
    expect(width).toBeLessThan(6);
    expect(prepared.notes.join('\n')).toMatch(/EXIF orientation \(6\)/);
  });

  it('decodes PNG, JPEG, WebP, GIF and TIFF to the same digit', async () => {
    const reference = await preprocessImage(await renderMnistDigitPhoto(digits[2], { scale: 6 }));
    for (const format of ['png', 'jpeg', 'webp', 'gif', 'tiff'] as const) {
      const bytes = await renderMnistDigitPhoto(digits[2], { scale: 6, format });
      const prepared = await preprocessImage(bytes, { fileName: `digit.${format}` });
      expect(prepared.format).toBe(format);
      expect([prepared.width, prepared.height]).toEqual([400, 300]);
      expect(correlation(prepared.pixels, reference.pixels)).toBeGreaterThan(0.95);
    }
  });

  it('works at a bounded resolution on a large photo', async () => {
    const photo = await renderMnistDigitPhoto(digits[1], { width: 2400, height: 1800, scale: 40, offsetX: -500, noise: 4, format: 'jpeg' });
    const prepared = await preprocessImage(photo);
    expect(prepared.notes.join('\n')).toMatch(/analysed at 384x288 \(reduced from 2400x1800\)/);
    expect(correlation(prepared.pixels, digits[1])).toBeGreaterThan(0.85);
  });

  it('previews what the model sees as bytes, ink = 255', async () => {
    const prepared: PreparedImage = await preprocessImage(await renderMnistDigitPhoto(digits[0]));
    const preview = preprocessToPreview(prepared);
    expect(preview).toHaveLength(PIXELS);
    for (let i = 0; i < PIXELS; i++) expect(preview[i]).toBe(Math.round(prepared.pixels[i] * 255));
    expect(Math.max(...preview)).toBe(255);
  });
});

describe('the seed pipeline', () => {
  it('matches the tutorial formula: 28x28, grey (ITU-R 601), 255 - x, threshold 50', async () => {
    const rgb = new Uint8Array(PIXELS * 3);
    const palette = [
      [255, 255, 255], // grey 255 -> 0 -> off
      [210, 210, 210], // 45 -> off
      [190, 190, 190], // 65 -> on
      [0, 0, 0], // 255 -> on
      [255, 0, 0], // luma 76 -> 179 -> on
      [200, 255, 255], // luma 239 -> 16 -> off
      [120, 140, 250], // luma 146 -> 109 -> on
    ];
    for (let i = 0; i < PIXELS; i++) rgb.set(palette[(i * 5 + (i >> 3)) % palette.length], i * 3);
    const prepared = await preprocessImage(await encodePixels(rgb, IMAGE_SIZE, IMAGE_SIZE, 3), { mode: 'seed' });
    expect(prepared.inverted).toBe(true);
    for (let i = 0; i < PIXELS; i++) {
      const [r, g, b] = palette[(i * 5 + (i >> 3)) % palette.length];
      const grey = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      expect(prepared.pixels[i]).toBe(255 - grey < 50 ? 0 : 1);
    }
  });

  it('shares the error handling', async () => {
    await expectImageError(preprocessImage(Buffer.from('plain text'), { mode: 'seed', fileName: 'a.txt' }), 'unsupported', /^a\.txt: /);
  });
});

describe('segmentDigits', () => {
  it('splits "2026" into four digits, left to right, each like the digit alone', async () => {
    const row = await segmentDigits(await renderTypesetDigit('2026', { width: 520, height: 180, fontSize: 120 }), { fileName: 'year.png' });
    expect(row).toHaveLength(4);
    const xs = row.map((digit) => digit.region!.x);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
    const alone = new Map<string, Float32Array>();
    for (const d of ['0', '2', '6']) alone.set(d, (await preprocessImage(await renderTypesetDigit(d, { height: 180, fontSize: 120 }))).pixels);
    [...'2026'].forEach((expected, i) => {
      const scores = [...alone].map(([d, pixels]) => [d, correlation(row[i].pixels, pixels)] as const);
      const best = scores.reduce((a, b) => (b[1] > a[1] ? b : a));
      expect(best[0]).toBe(expected);
      const { cx, cy } = geometry(row[i].pixels);
      expect(Math.hypot(cx - 14, cy - 14)).toBeLessThanOrEqual(Math.SQRT2);
    });
  });

  it('keeps the two strokes of a broken digit together', async () => {
    // A "5" drawn as two pieces: a top bar and the body, with a gap between them.
    const width = 200;
    const height = 200;
    const pixels = new Uint8Array(width * height).fill(250);
    const paint = (x0: number, y0: number, x1: number, y1: number) => {
      for (let y = y0; y < y1; y++) pixels.fill(10, y * width + x0, y * width + x1);
    };
    paint(70, 30, 140, 42); // top bar
    paint(70, 50, 82, 100); // stem, separated from the bar by a gap
    paint(70, 100, 130, 112);
    paint(130, 100, 142, 160);
    paint(70, 160, 142, 172);
    const row = await segmentDigits(await encodePixels(pixels, width, height, 1));
    expect(row).toHaveLength(1);
  });
});
