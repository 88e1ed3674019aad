import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { argmax, bytesToInputs, PIXELS } from './dataset.ts';
import { evaluatePictures, metricsFromProbabilities, predictSet, predictSetInSteps } from './evaluate.ts';

/** Probability rows putting `p` on `predicted` and the rest evenly elsewhere. */
function rows(predictions: [number, number][]): Float32Array {
  const out = new Float32Array(predictions.length * 10);
  predictions.forEach(([predicted, p], i) => {
    for (let c = 0; c < 10; c++) out[i * 10 + c] = c === predicted ? p : (1 - p) / 9;
  });
  return out;
}

describe('metricsFromProbabilities', () => {
  const labels = [0, 0, 1, 1, 2];
  const probabilities = rows([
    [0, 0.9],
    [1, 0.6], // a 0 read as 1
    [1, 0.8],
    [1, 0.7],
    [0, 0.95], // a 2 read as 0, the most confident mistake
  ]);
  const m = metricsFromProbabilities(probabilities, labels);

  it('counts accuracy and fills the confusion matrix by [true][predicted]', () => {
    expect(m.accuracy).toBeCloseTo(3 / 5, 12);
    expect(m.count).toBe(5);
    expect(m.confusion[0][0]).toBe(1);
    expect(m.confusion[0][1]).toBe(1);
    expect(m.confusion[1][1]).toBe(2);
    expect(m.confusion[2][0]).toBe(1);
    expect(m.confusion.flat().reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('computes per-class precision and recall', () => {
    expect(m.perClass[0]).toMatchObject({ digit: 0, precision: 0.5, recall: 0.5, support: 2 });
    expect(m.perClass[1].precision).toBeCloseTo(2 / 3, 12);
    expect(m.perClass[1].recall).toBe(1);
    expect(m.perClass[2]).toMatchObject({ precision: 0, recall: 0, support: 1 });
  });

  it('computes the mean cross-entropy of the true class', () => {
    const expected = -(Math.log(0.9) + Math.log(0.4 / 9) + Math.log(0.8) + Math.log(0.7) + Math.log(0.05 / 9)) / 5;
    expect(m.loss).toBeCloseTo(expected, 5);
  });

  it('lists the misclassified images, most confident first', () => {
    expect(m.mistakes.map((x) => x.index)).toEqual([4, 1]);
    expect(m.mistakes[0]).toMatchObject({ label: 2, predicted: 0 });
    expect(m.mistakes[0].confidence).toBeCloseTo(0.95, 6);
  });
});

describe('cellIndices', () => {
  it('lists every mistake and at most 50 correct images per digit', () => {
    const labels = new Uint8Array(120).fill(1);
    const probabilities = new Float32Array(120 * 10);
    for (let i = 0; i < 120; i++) probabilities[i * 10 + (i < 100 ? 1 : 7)] = 1;
    const cells = metricsFromProbabilities(probabilities, labels).cellIndices;
    expect(cells['1-1']).toHaveLength(50);
    expect(cells['1-7']).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    expect(Object.keys(cells).sort()).toEqual(['1-1', '1-7']);
  });
});

describe('argmax and bytesToInputs', () => {
  it('argmax picks the first largest value of a row, -1 for an empty one', () => {
    expect(argmax([0.1, 0.7, 0.2])).toBe(1);
    expect(argmax([0.5, 0.5])).toBe(0);
    expect(argmax(Float32Array.from([9, 0, 1, 0, 2, 3]), 3, 3)).toBe(2);
    expect(argmax([])).toBe(-1);
  });

  it('bytesToInputs scales 0..255 to 0..1 into place', () => {
    const out = new Float32Array(4).fill(-1);
    bytesToInputs([0, 255], out, 1);
    expect([...out]).toEqual([-1, 0, 1, -1]);
    expect(bytesToInputs([51])[0]).toBeCloseTo(0.2, 6);
  });
});

describe('evaluatePictures', () => {
  /** A stand-in model that reads each picture as the digit written in its first pixel (value = digit): [b,28,28,1] -> [b,10]. */
  const firstPixelModel = {
    predict: (x: tf.Tensor) =>
      tf.tidy(() => {
        const n = x.shape[0]!;
        const digit = x.reshape([n, PIXELS]).slice([0, 0], [n, 1]).mul(255).round().reshape([n]).toInt();
        return tf.oneHot(digit as tf.Tensor1D, 10).toFloat().mul(0.91).add(0.01);
      }),
  } as unknown as tf.LayersModel;

  it('predictSetInSteps gives the same probabilities as predictSet and reports images done after each batch, yielding between them', async () => {
    const count = 23;
    const images = new Uint8Array(count * PIXELS);
    for (let i = 0; i < count; i++) images[i * PIXELS] = i % 10;
    const set = { images, labels: new Uint8Array(count), count };
    const reports: [number, number, boolean][] = [];
    // Queued before the call: it runs only if the evaluation gives the event loop a turn between batches.
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    const stepped = await predictSetInSteps(firstPixelModel, set, (done, total) => reports.push([done, total, otherWorkRan]), 10);
    expect(Array.from(stepped)).toEqual(Array.from(predictSet(firstPixelModel, set, 10)));
    expect(argmax(stepped.subarray(13 * 10, 14 * 10))).toBe(3);
    expect(reports).toEqual([
      [10, 23, false],
      [20, 23, true],
      [23, 23, true],
    ]);
  });

  it('names every reading and mistake by its file, keeps the metrics, and lists unreadable files', () => {
    const files = ['0/a.png', '1/b.png', '1/flagged.png', '7/crossed.png'];
    const labels = [0, 1, 1, 7];
    const readAs = [0, 1, 7, 7];
    const images = new Uint8Array(files.length * PIXELS);
    readAs.forEach((digit, i) => (images[i * PIXELS] = digit));
    const result = evaluatePictures(firstPixelModel, {
      pictures: { images, labels: Uint8Array.from(labels), count: files.length, files },
      failed: [{ file: '4/torn.jpg', error: 'torn.jpg: the file is truncated', code: 'decode' }],
    });
    expect(result.count).toBe(4);
    expect(result.accuracy).toBe(0.75);
    expect(result.confusion[1][7]).toBe(1);
    expect(result.readings.map((r) => [r.file, r.label, r.predicted])).toEqual([
      ['0/a.png', 0, 0],
      ['1/b.png', 1, 1],
      ['1/flagged.png', 1, 7],
      ['7/crossed.png', 7, 7],
    ]);
    expect(result.readings[2].confidence).toBeCloseTo(0.92, 5);
    expect(result.mistakes).toEqual([result.readings[2]]);
    // The error only: the code is for the reader, not the report.
    expect(result.failed).toEqual([{ file: '4/torn.jpg', error: 'torn.jpg: the file is truncated' }]);
  });
});
