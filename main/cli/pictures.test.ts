/** `digits train --images` and `digits test --images`: the command line on labelled picture folders. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHandwrittenSet } from '../ml/handwriting.ts';
import type { ModelMetadata } from '../ml/modelFolder.ts';

const BIN = path.resolve('bin/digits.mjs');
let tmp: string;
let pictures: string;

function digits(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20, env: { ...process.env, DIGITS_CACHE_DIR: path.join(tmp, 'cache') } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const jsonLines = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-pictures-'));
  pictures = path.join(tmp, 'mine');
  for (const sample of await renderHandwrittenSet(5, 3)) {
    await mkdir(path.join(pictures, String(sample.digit)), { recursive: true });
    await writeFile(path.join(pictures, String(sample.digit), sample.name), sample.picture);
  }
  await writeFile(path.join(pictures, '4', 'torn.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70]));
  await writeFile(path.join(pictures, 'notes.txt'), 'not a picture');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('digits train --images', () => {
  const base = () => path.join(tmp, 'base');
  const tuned = () => path.join(tmp, 'tuned');

  it('fine-tunes a model on labelled pictures: held-out accuracy per epoch, before/after and counts in the done line', async () => {
    const first = await digits('train', '--preset', 'fast', '--steps', '40', '--limit', '4000', '--run', base(), '--json', '--backend', 'wasm');
    expect(first.code).toBe(0);
    const out = await digits(
      'train', '--images', pictures, '--from', path.join(base(), 'model'), '--holdout', '0.4', '--steps', '12',
      '--limit', '3000', '--run', tuned(), '--json', '--backend', 'wasm',
    );
    expect(out.code).toBe(0);
    const lines = jsonLines(out.stdout);
    const images = lines.find((l) => l.type === 'images')!;
    expect(images.perDigit).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
    expect(images.failed).toEqual([expect.objectContaining({ file: '4/torn.jpg', error: expect.stringMatching(/torn\.jpg: .*truncated/) })]);
    expect(images.ignored).toEqual([{ file: 'notes.txt', reason: 'outside the digit folders' }]);
    expect(lines.find((l) => l.type === 'pictures')).toMatchObject({ train: 30, heldOut: 20, caveat: expect.stringMatching(/Only 20 pictures are held out/) });
    const epochs = lines.filter((l) => l.type === 'epoch');
    expect(epochs.length).toBeGreaterThan(0);
    for (const epoch of epochs) expect(epoch.imagesAccuracy).toEqual(expect.any(Number));
    const done = lines.at(-1)!;
    expect(done).toMatchObject({ type: 'done', step: 12, pictures: 50, trainPictures: 30, heldOutPictures: 20 });
    expect(done.imagesAccuracy).toBeGreaterThanOrEqual(0);
    expect(done.before).toEqual({ testAccuracy: expect.any(Number), imagesAccuracy: expect.any(Number) });

    const metadata = JSON.parse(await readFile(path.join(tuned(), 'model', 'metadata.json'), 'utf8')) as ModelMetadata;
    expect(metadata.trainedOn?.pictures).toMatchObject({ folder: 'mine', count: 50, trainCount: 30, heldOutCount: 20, contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(metadata.trainedOn?.mnist?.count).toBeGreaterThan(0);
    expect(metadata.trainedOn?.fineTunedFrom).toMatchObject({ folder: 'model', preset: 'fast' });
    expect(metadata.trainedOn?.fineTunedFrom?.trainedOn?.mnist?.count).toBe(4000);
    expect(metadata.images).toMatchObject({ count: 20, accuracy: done.imagesAccuracy });
  });

  it('leaves imagesAccuracy out with --holdout 0 and trains on the pictures alone with --no-mnist', async () => {
    const out = await digits('train', '--images', pictures, '--no-mnist', '--holdout', '0', '--steps', '6', '--run', path.join(tmp, 'only'), '--json', '--backend', 'wasm');
    expect(out.code).toBe(0);
    const lines = jsonLines(out.stdout);
    for (const line of lines.filter((l) => l.type === 'epoch' || l.type === 'done')) expect(line).not.toHaveProperty('imagesAccuracy');
    expect(lines.find((l) => l.type === 'pictures')?.caveat).toMatch(/No pictures are held out/);
    const metadata = JSON.parse(await readFile(path.join(tmp, 'only', 'model', 'metadata.json'), 'utf8')) as ModelMetadata;
    expect(metadata.trainedOn?.mnist).toBeNull();
    expect(metadata.trainedOn?.pictures?.trainCount).toBe(50);
  });

  it('refuses picture flags without --images, and a folder without usable pictures, in one line', async () => {
    const noImages = await digits('train', '--from', base(), '--backend', 'wasm');
    expect(noImages.code).toBe(2);
    expect(noImages.stderr).toMatch(/--from needs --images DIR/);
    const empty = path.join(tmp, 'empty');
    await mkdir(path.join(empty, 'x'), { recursive: true });
    const none = await digits('train', '--images', empty, '--backend', 'wasm');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no usable picture/);
    expect(none.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('digits test --images', () => {
  it('reports accuracy, the confusion matrix and every mistake by file; failed files under failed', async () => {
    const out = await digits('test', '--model', path.join(tmp, 'base', 'model'), '--images', pictures, '--json', '--backend', 'wasm');
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout) as {
      count: number;
      accuracy: number;
      confusion: number[][];
      mistakes: { file: string; label: number; predicted: number }[];
      failed: { file: string; error: string }[];
    };
    expect(result.count).toBe(50);
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(50);
    expect(result.mistakes.length).toBe(Math.round(50 * (1 - result.accuracy)));
    for (const m of result.mistakes) {
      expect(m.file.startsWith(`${m.label}/`)).toBe(true);
      expect(m.predicted).not.toBe(m.label);
    }
    expect(result.failed).toEqual([{ file: '4/torn.jpg', error: expect.stringMatching(/truncated/) }]);
  });
});
