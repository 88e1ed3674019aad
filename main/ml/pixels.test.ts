import { describe, expect, it } from 'vitest';
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
  otsuClasses,
  otsuThreshold,
  percentile,
  resample,
  robustSpread,
  solveLinear,
} from './pixels.ts';

/** A mask from rows of '#' (1) and '.' (0). */
function mask(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const width = rows[0].length;
  return { mask: Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0)), width, height: rows.length };
}

/** A 256-bin histogram with `count` values at each given level. */
function histogram(levels: Record<number, number>): Float64Array {
  const h = new Float64Array(256);
  for (const [level, count] of Object.entries(levels)) h[Number(level)] = count;
  return h;
}

describe('luma601', () => {
  it("weighs red, green and blue as PIL's convert('L') does", () => {
    expect(luma601(255, 255, 255)).toBe(255);
    expect(luma601(0, 0, 0)).toBe(0);
    expect(luma601(255, 0, 0)).toBe(76);
    expect(luma601(0, 255, 0)).toBe(150);
    expect(luma601(0, 0, 255)).toBe(29);
  });
});

describe('histogramOf', () => {
  it('counts rounded, clamped values, only where included', () => {
    const h = histogramOf([0.4, 0.6, 300, -5, 10], Uint8Array.from([1, 1, 1, 1, 0]));
    expect(h[0]).toBe(2);
    expect(h[1]).toBe(1);
    expect(h[255]).toBe(1);
    expect(h[10]).toBe(0);
    expect(h.reduce((a, b) => a + b, 0)).toBe(4);
  });
});

describe('otsuThreshold and otsuClasses', () => {
  it('splits two tones between them, and reports each class', () => {
    const h = histogram({ 20: 900, 200: 100 });
    const t = otsuThreshold(h);
    expect(t).toBeGreaterThanOrEqual(20);
    expect(t).toBeLessThan(200);
    expect(otsuClasses(h)).toEqual({ threshold: t, lowMean: 20, highMean: 200, lowCount: 900, highCount: 100 });
  });

  it('puts the threshold in the widest gap of three tones weighted evenly', () => {
    const t = otsuThreshold(histogram({ 10: 100, 60: 100, 250: 100 }));
    expect(t).toBeGreaterThanOrEqual(60);
    expect(t).toBeLessThan(250);
  });

  it('reports one flat tone as two equal means', () => {
    const classes = otsuClasses(histogram({ 128: 50 }));
    expect(classes.lowMean).toBe(128);
    expect(classes.highMean).toBe(128);
  });
});

describe('boxBlur3', () => {
  it('averages each 3x3 neighbourhood, using only the pixels that exist at the edges', () => {
    const values = new Float32Array(9);
    values[4] = 9; // the centre of a 3x3 image
    const out = boxBlur3(values, 3, 3);
    expect(out[4]).toBe(1);
    expect(out[0]).toBe(9 / 4);
    expect(out[1]).toBe(9 / 6);
  });
});

describe('solveLinear', () => {
  it('solves a small system, and says null for a singular one', () => {
    const x = solveLinear([[2, 1], [1, 3]], [3, 5]);
    expect(x![0]).toBeCloseTo(0.8, 10);
    expect(x![1]).toBeCloseTo(1.4, 10);
    expect(solveLinear([[1, 2], [2, 4]], [1, 2])).toBeNull();
  });
});

describe('fitBackground', () => {
  it('recovers a lighting gradient from the background pixels alone, ignoring the ink', () => {
    const width = 40;
    const height = 30;
    const values = new Float32Array(width * height);
    const isBackground = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const ink = x >= 15 && x < 25 && y >= 10 && y < 20;
        values[i] = ink ? 255 : 100 + 2 * x;
        isBackground[i] = ink ? 0 : 1;
      }
    }
    const surface = fitBackground(values, width, height, isBackground);
    expect(surface[0]).toBeCloseTo(100, 1);
    expect(surface[15 * width + 20]).toBeCloseTo(140, 1); // under the ink: the fitted paper, not 255
    expect(surface[width - 1]).toBeCloseTo(178, 1);
  });

  it('falls back to the mean of the background when it is too small to fit', () => {
    const values = Float32Array.from([10, 20, 30, 200]);
    expect([...fitBackground(values, 2, 2, Uint8Array.from([1, 1, 1, 0]))]).toEqual([20, 20, 20, 20]);
  });
});

describe('connectedComponents', () => {
  it('labels 8-connected blobs with their areas and boxes', () => {
    const m = mask(['#..#', '.#..', '....', '##..']);
    const { labels, areas, boxes } = connectedComponents(m.mask, m.width, m.height);
    expect(areas).toEqual([2, 1, 2]); // the diagonal pair joins; the corner pixel and the bottom pair stand alone
    expect(boxes[0]).toEqual({ x0: 0, y0: 0, x1: 1, y1: 1 });
    expect(boxes[2]).toEqual({ x0: 0, y0: 3, x1: 1, y1: 3 });
    expect(labels[2]).toBe(-1);
    expect(labels[3]).toBe(1);
  });
});

describe('edgeContact', () => {
  it('counts the picture-edge pixels each component covers', () => {
    const m = mask(['####', '....', '.#..', '....']);
    const { labels, areas } = connectedComponents(m.mask, m.width, m.height);
    expect([...edgeContact(labels, m.width, m.height, areas.length)]).toEqual([4, 0]);
  });
});

describe('estimateStrokeWidth', () => {
  it('measures a stroke as its area over half its boundary length', () => {
    const three = mask(['..........', '##########', '##########', '##########', '..........']);
    expect(estimateStrokeWidth(three.mask, three.width, three.height)).toBeCloseTo((2 * 30) / 26, 10);
    expect(estimateStrokeWidth(new Uint8Array(4), 2, 2)).toBe(0);
  });
});

describe('dilate', () => {
  it('grows the image by the radius on every side and spreads each pixel over a square', () => {
    const { pixels, width, height } = dilate(Float32Array.from([0.5]), 1, 1, 1);
    expect([width, height]).toEqual([3, 3]);
    expect([...pixels]).toEqual(new Array(9).fill(0.5));
  });
});

describe('resample', () => {
  it('averages the area under each target pixel when shrinking', () => {
    const src = Float32Array.from([0, 1, 1, 1, 0, 0, 0, 0]); // 4x2
    expect([...resample(src, 4, 2, 2, 1)]).toEqual([0.25, 0.5]);
  });

  it('interpolates when enlarging and keeps a constant image constant', () => {
    expect([...resample(new Float32Array(4).fill(0.7), 2, 2, 5, 3)].every((v) => Math.abs(v - 0.7) < 1e-6)).toBe(true);
    const up = resample(Float32Array.from([0, 1]), 2, 1, 4, 1);
    expect(up[0]).toBe(0);
    expect(up[1]).toBeCloseTo(0.25, 6);
    expect(up[3]).toBe(1);
  });
});

describe('centreByMass', () => {
  it("moves a patch so its centre of mass lands on the frame's centre (14, 14)", () => {
    const patch = new Float32Array(4 * 4);
    patch[0] = 1; // all the mass at (0, 0)
    const frame = centreByMass(patch, 4, 4);
    expect(frame).toHaveLength(784);
    expect(frame[14 * 28 + 14]).toBe(1);
    expect(frame.reduce((a, b) => a + b, 0)).toBe(1);
  });
});

describe('percentile and robustSpread', () => {
  it('finds the level below which a fraction lies, and the maximum at 1', () => {
    const h = histogram({ 10: 50, 20: 40, 90: 10 });
    expect(percentile(h, 0.5)).toBe(20);
    expect(percentile(h, 0.2)).toBe(10);
    expect(percentile(h, 1)).toBe(90);
  });

  it('gives the median and a noise deviation that ignores outliers', () => {
    const values = new Float32Array(1000);
    for (let i = 0; i < values.length; i++) values[i] = 100 + (i % 3) - 1; // 99, 100, 101
    for (let i = 0; i < 20; i++) values[i * 50] = 255; // 2% outliers
    const { median, sigma } = robustSpread(values);
    expect(median).toBe(100);
    expect(sigma).toBeCloseTo(1.4826, 4);
  });
});

describe('flattenToGrey', () => {
  it('reduces opaque RGBA to grey and says no backdrop was needed', () => {
    const { grey, backdrop } = flattenToGrey(Uint8Array.from([255, 0, 0, 255, 0, 0, 0, 255]), 2);
    expect([...grey]).toEqual([76, 0]);
    expect(backdrop).toBeNull();
  });

  it('puts black strokes drawn on a transparent canvas onto white', () => {
    const rgba = new Uint8Array(10 * 4); // all transparent black
    for (let i = 0; i < 3; i++) rgba[i * 4 + 3] = 255; // three opaque black pixels
    const { grey, backdrop } = flattenToGrey(rgba, 10);
    expect(backdrop).toBe(255);
    expect(grey[0]).toBe(0);
    expect(grey[9]).toBe(255);
  });
});
