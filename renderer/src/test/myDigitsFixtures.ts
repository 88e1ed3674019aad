/** A small "My digits" collection and the current model's results on it, for renderer tests. */
import type { MyDigitItem, MyDigitsEvaluation, MyDigitsReading, MyDigitsSummary } from '../lib/contract.ts';
import { MODEL } from './fakeApi.ts';

export const COLLECTION_DIR = '/workspace/my-digits';

/** `perDigit` pictures of each digit, `${digit}/drawn-${digit}-${k}.png`. */
export function myDigitsSummary(perDigit: number): MyDigitsSummary {
  const items: MyDigitItem[] = [];
  for (let digit = 0; digit < 10; digit++) {
    for (let k = 0; k < perDigit; k++) {
      items.push({ file: `${digit}/drawn-${digit}-${k}.png`, label: digit, picture: new Uint8Array([0x89, 0x50, 0x4e, 0x47]), input: new Uint8Array(784).fill(k) });
    }
  }
  return { dir: COLLECTION_DIR, perDigit: new Array(10).fill(perDigit), items, failed: [], ignored: 0 };
}

/**
 * The model's results on `summary`: every picture read right except the first 1 (read as 7,
 * 92% sure) and the first 3 (read as 8, 60% sure); one torn file could not be read.
 */
export function myDigitsEvaluation(summary: MyDigitsSummary): MyDigitsEvaluation {
  const wrong: Record<string, [number, number]> = { '1/drawn-1-0.png': [7, 0.92], '3/drawn-3-0.png': [8, 0.6] };
  const readings: MyDigitsReading[] = summary.items.map(({ file, label }) => {
    const [predicted, confidence] = wrong[file] ?? [label, 0.99];
    return { file, label, predicted, confidence };
  });
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  for (const r of readings) confusion[r.label][r.predicted]++;
  const count = readings.length;
  const right = readings.filter((r) => r.label === r.predicted).length;
  return {
    model: MODEL,
    dir: COLLECTION_DIR,
    accuracy: right / count,
    loss: 0.31,
    count,
    confusion,
    perClass: confusion.map((row, digit) => ({
      digit,
      precision: row[digit] / Math.max(1, confusion.reduce((sum, r) => sum + r[digit], 0)),
      recall: row[digit] / Math.max(1, row.reduce((a, b) => a + b, 0)),
      support: row.reduce((a, b) => a + b, 0),
    })),
    readings,
    mistakes: readings.filter((r) => r.label !== r.predicted).sort((a, b) => b.confidence - a.confidence),
    failed: [{ file: '4/torn.jpg', error: 'torn.jpg: the file is cut short (truncated)' }],
    seconds: 0.4,
  };
}
