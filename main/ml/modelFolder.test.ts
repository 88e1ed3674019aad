import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.ts';
import { crashingFs } from './crashingFs.ts';
import { createModel } from './models.ts';
import { DEFAULT_LABELS, DEFAULT_PREPROCESSING, describeInput, loadModelFolder, saveModelFolder, type ModelMetadata } from './modelFolder.ts';

const run = promisify(execFile);
let tmp: string;

const metadata: ModelMetadata = {
  format: 'digit-studio-model/1',
  preset: 'seed',
  labels: DEFAULT_LABELS,
  input: describeInput(),
  output: 'probabilities',
  preprocessing: DEFAULT_PREPROCESSING,
  training: { steps: 0, batchSize: 200, learningRate: 0.1, trainCount: 0, seed: 3, weights: 'raw' },
  backend: 'wasm',
  createdAt: new Date(0).toISOString(),
  app: 'Digit Studio',
};

/** A fixed batch of 3 inputs [3, 28, 28, 1] in [0, 1]. */
function probeInputs(): Float32Array {
  return Float32Array.from({ length: 3 * 784 }, (_, i) => ((i * 7919) % 256) / 255);
}

beforeAll(async () => {
  await selectBackend('wasm');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-model-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('model folders', () => {
  it('export then load in a separate program with plain tf.loadLayersModel gives the same predictions', async () => {
    const model = createModel('cnn', 3);
    const dir = path.join(tmp, 'cnn');
    await saveModelFolder(dir, model, metadata);
    const expected = tf.tidy(() => (model.predict(tf.tensor4d(probeInputs(), [3, 28, 28, 1])) as tf.Tensor).arraySync() as number[][]);
    model.dispose();

    // Serve the folder over HTTP, as a web page or another Node program would fetch it.
    const server = http.createServer((req, res) => {
      const file = path.join(dir, path.basename(req.url ?? ''));
      createReadStream(file).on('error', () => res.writeHead(404).end()).pipe(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const script = `
      import * as tf from '@tensorflow/tfjs';
      const model = await tf.loadLayersModel('http://127.0.0.1:${port}/model.json');
      const x = tf.tensor4d(Float32Array.from({ length: 3 * 784 }, (_, i) => ((i * 7919) % 256) / 255), [3, 28, 28, 1]);
      process.stdout.write(JSON.stringify(model.predict(x).arraySync()));`;
    const scriptFile = path.join(process.cwd(), `.tmp-load-${process.pid}.mjs`);
    await writeFile(scriptFile, script);
    try {
      const { stdout } = await run(process.execPath, [scriptFile], { cwd: process.cwd() });
      const actual = JSON.parse(stdout) as number[][];
      expect(actual).toHaveLength(3);
      actual.forEach((row, i) => {
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        row.forEach((p, c) => expect(p).toBeCloseTo(expected[i][c], 4));
      });
    } finally {
      server.close();
      await rm(scriptFile, { force: true });
    }
  });

  it('loads back with its metadata and the same predictions', async () => {
    const model = createModel('seed', 5);
    const dir = path.join(tmp, 'seed');
    await saveModelFolder(dir, model, metadata);
    const loaded = await loadModelFolder(dir);
    expect(loaded.metadata).toEqual(metadata);
    const x = tf.tensor4d(probeInputs(), [3, 28, 28, 1]);
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.model.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    tf.dispose([x, model, loaded.model] as unknown as tf.Tensor[]);
  });

  it('replaces only a previous model folder, and only when told to; anything else never', async () => {
    const model = createModel('seed');
    const dir = path.join(tmp, 'previous');
    await saveModelFolder(dir, model, metadata);
    await expect(saveModelFolder(dir, model, metadata)).rejects.toThrow(`${dir} already holds a model; allow overwriting to replace it`);
    await saveModelFolder(dir, model, { ...metadata, preset: 'fast' }, { overwrite: true });
    expect(JSON.parse(await readFile(path.join(dir, 'metadata.json'), 'utf8')).preset).toBe('fast');

    const occupied = path.join(tmp, 'occupied');
    await mkdir(occupied);
    await writeFile(path.join(occupied, 'notes.txt'), 'mine');
    const file = path.join(tmp, 'file');
    await writeFile(file, 'a file');
    for (const overwrite of [false, true]) {
      await expect(saveModelFolder(occupied, model, metadata, { overwrite })).rejects.toThrow(
        `${occupied} holds other files (notes.txt); only an empty folder or a previous model folder is replaced`,
      );
      await expect(saveModelFolder(file, model, metadata, { overwrite })).rejects.toThrow(`${file} is a file, not a model folder`);
    }
    expect(await readFile(path.join(occupied, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await readFile(file, 'utf8')).toBe('a file');
    model.dispose();
  });

  it('loads the complete copy left by a crash between the renames, not "no such folder"', async () => {
    const model = createModel('seed');
    const dir = path.join(tmp, 'crashed');
    await saveModelFolder(dir, model, metadata);
    // Steps of a replacing write: three files, move the old folder aside, [crash] move the new one in.
    const fsx = crashingFs(4);
    await expect(saveModelFolder(dir, model, { ...metadata, preset: 'fast' }, { overwrite: true, fs: fsx })).rejects.toThrow();
    expect(fsx.steps.at(-1)).toBe(`rename ${dir} -> ${dir}.prev-${fsx.steps.at(-1)!.split('.prev-')[1]}`);
    await expect(stat(dir)).rejects.toThrow();
    const loaded = await loadModelFolder(dir);
    expect(loaded.metadata?.preset).toBe('fast');
    loaded.model.dispose();
    model.dispose();
  });

  it('names the problem with a folder that is not a model', async () => {
    await expect(loadModelFolder(path.join(tmp, 'absent'))).rejects.toThrow(/no such folder/);
    const empty = path.join(tmp, 'empty');
    await mkdir(empty);
    await expect(loadModelFolder(empty)).rejects.toThrow(/model.json is missing/);
    const truncated = path.join(tmp, 'truncated');
    await saveModelFolder(truncated, createModel('seed'), metadata);
    const weights = await readFile(path.join(truncated, 'weights.bin'));
    await writeFile(path.join(truncated, 'weights.bin'), weights.subarray(0, 1000));
    await expect(loadModelFolder(truncated)).rejects.toThrow(/weights.bin holds 1000 bytes/);
  });
});
