import * as tf from '@tensorflow/tfjs';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.ts';
import { crashingFs } from './crashingFs.ts';
import { createModel } from './models.ts';
import {
  DEFAULT_LABELS,
  DEFAULT_PREPROCESSING,
  describeInput,
  loadModelFolder,
  ModelFolderError,
  saveModelFolder,
  type ModelMetadata,
} from './modelFolder.ts';

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
    const weights = await readFile(path.join(dir, 'weights.bin'));
    expect(loaded.metadata).toEqual({ ...metadata, weightsSha256: { 'weights.bin': createHash('sha256').update(weights).digest('hex') } });
    expect(loaded.notes).toEqual([]);
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
    expect(loaded.notes).toContain(`${dir} is missing after an interrupted write; loaded its complete copy ${path.basename(loaded.dir)}`);
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

/** A small model folder (784 -> 10 softmax, 7850 weights) to tamper with: returns its path. */
async function smallFolder(name: string, options: { metadata?: boolean } = {}): Promise<string> {
  const dir = path.join(tmp, name);
  const model = tf.sequential({
    layers: [tf.layers.flatten({ inputShape: [28, 28, 1], name: 'flatten' }), tf.layers.dense({ units: 10, activation: 'softmax', name: 'out' })],
  });
  await saveModelFolder(dir, model, options.metadata === false ? null : metadata);
  model.dispose();
  return dir;
}

interface EditableModelJson {
  modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
  weightsManifest: { paths: unknown; weights: { shape: unknown }[] }[];
}

async function editModelJson(dir: string, edit: (json: EditableModelJson) => void): Promise<void> {
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(await readFile(file, 'utf8')) as EditableModelJson;
  edit(json);
  await writeFile(file, JSON.stringify(json));
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelFolderError);
  return (error as Error).message;
}

describe('model folders from anywhere (hostile or damaged)', () => {
  it('refuses weights paths leading outside the folder, without telling the outside file\'s size', async () => {
    const dir = await smallFolder('escape');
    // A file outside the folder of exactly the declared size: today's loader would read it.
    await writeFile(path.join(tmp, 'outside.bin'), Buffer.alloc(7850 * 4, 1));
    for (const p of ['../outside.bin', path.join(tmp, 'outside.bin'), 'sub/../../outside.bin']) {
      await editModelJson(dir, (json) => (json.weightsManifest[0].paths = [p]));
      const message = await refusal(loadModelFolder(dir));
      expect(message).toContain(`weights file ${JSON.stringify(p)} (listed in model.json): `);
      expect(message).toMatch(/outside the folder/);
      expect(message).not.toMatch(/31400|bytes/);
    }
    await rm(path.join(dir, 'weights.bin'));
    await symlink(path.join(tmp, 'outside.bin'), path.join(dir, 'weights.bin'));
    await editModelJson(dir, (json) => (json.weightsManifest[0].paths = ['weights.bin']));
    expect(await refusal(loadModelFolder(dir))).toMatch(/"weights.bin" \(listed in model.json\): it is a link leading outside the folder; refused/);
  });

  it('refuses weights.bin as a link to /dev/zero, and named pipes as any of the three files, without reading them', async () => {
    const dir = await smallFolder('devices');
    await rm(path.join(dir, 'weights.bin'));
    await symlink('/dev/zero', path.join(dir, 'weights.bin'));
    expect(await refusal(loadModelFolder(dir))).toMatch(/"weights.bin" \(listed in model.json\): it is a link leading outside the folder/);
    for (const name of ['weights.bin', 'model.json', 'metadata.json']) {
      const folder = await smallFolder(`pipe-${name}`);
      await rm(path.join(folder, name));
      execFileSync('mkfifo', [path.join(folder, name)]);
      // Reading a pipe without a writer blocks forever: this test would time out.
      expect(await refusal(loadModelFolder(folder))).toMatch(/is a named pipe, not a regular file; refused$/);
    }
  });

  it('refuses files over the caps by their size, before reading them (sparse files)', async () => {
    const dir = await smallFolder('sparse-weights');
    await truncate(path.join(dir, 'weights.bin'), 2 * 1024 ** 3);
    expect(await refusal(loadModelFolder(dir))).toMatch(/"weights.bin" \(listed in model.json\) is 2048 MB, more than the 200 MB allowed; refused/);
    const big = await smallFolder('big-json');
    await truncate(path.join(big, 'model.json'), 2 * 1024 ** 2);
    expect(await refusal(loadModelFolder(big))).toMatch(/model.json is 2 MB, more than the 1 MB allowed; refused/);
    const meta = await smallFolder('big-metadata');
    await truncate(path.join(meta, 'metadata.json'), 100 * 1024);
    expect(await refusal(loadModelFolder(meta))).toMatch(/metadata.json is 100 KB, more than the 64 KB allowed; refused/);
  });

  it('compares the layers\' parameter count with the manifest before building (a 1.1M-unit layer never reaches tfjs)', async () => {
    const dir = await smallFolder('huge-layer');
    await editModelJson(dir, (json) => (json.modelTopology.config.layers[1].config.units = 1_100_000));
    const tensors = tf.memory().numTensors;
    expect(await refusal(loadModelFolder(dir))).toMatch(/model.json: layer "out" \(Dense\): the model declares more than 50000000 parameters/);
    expect(tf.memory().numTensors).toBe(tensors);
    // Within the cap but not what the weights hold: refused by count, not by a tfjs error.
    await editModelJson(dir, (json) => {
      json.modelTopology.config.layers[1].config.units = 10;
      json.modelTopology.config.layers.splice(1, 0, { class_name: 'Dense', config: { name: 'extra', units: 10 } });
    });
    expect(await refusal(loadModelFolder(dir))).toMatch(/model.json: the layers need 7960 weights but weightsManifest lists 7850$/);
  });

  it('refuses a model of the wrong shape, saying what is expected', async () => {
    const dir = await smallFolder('five-classes');
    await editModelJson(dir, (json) => {
      json.modelTopology.config.layers[1].config.units = 5;
      json.weightsManifest[0].weights[0].shape = [784, 5];
      json.weightsManifest[0].weights[1].shape = [5];
    });
    expect(await refusal(loadModelFolder(dir))).toMatch(/model.json: the model outputs \[batch, 5\]; Digit Studio needs \[batch, 10\]/);
  });

  it('accepts a model taking [batch, 784] and feeds it 28x28 images', async () => {
    const dir = path.join(tmp, 'vector-input');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 10, activation: 'softmax', name: 'out' })] });
    await saveModelFolder(dir, model, null);
    const loaded = await loadModelFolder(dir);
    const x = tf.tensor4d(probeInputs(), [3, 28, 28, 1]);
    const expected = (model.predict(x.reshape([3, 784])) as tf.Tensor).dataSync();
    expect(Array.from((loaded.model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from(expected));
    tf.dispose([x, model, loaded.model] as unknown as tf.Tensor[]);
  });

  it('names the file and field of a malformed manifest instead of a TypeError', async () => {
    const dir = await smallFolder('malformed');
    await editModelJson(dir, (json) => (json.weightsManifest[0].weights[0].shape = 'abc'));
    expect(await refusal(loadModelFolder(dir))).toBe(
      `${path.join(dir, 'model.json')}: malformed field weightsManifest[0].weights[0].shape: Invalid input: expected array, received string`,
    );
    await editModelJson(dir, (json) => (json.weightsManifest = [{ paths: 'weights.bin', weights: [] }]));
    expect(await refusal(loadModelFolder(dir))).toMatch(/model.json: malformed field weightsManifest\[0\]\.paths: /);
  });

  it('refuses same-size garbled weights by their SHA-256, loads a folder without one with a note, refuses NaN weights', async () => {
    const garbled = await smallFolder('garbled');
    const weights = await readFile(path.join(garbled, 'weights.bin'));
    weights.reverse();
    await writeFile(path.join(garbled, 'weights.bin'), weights);
    expect(await refusal(loadModelFolder(garbled))).toBe(
      `${garbled}: weights.bin does not match the SHA-256 recorded in metadata.json: the file is damaged or was changed`,
    );

    const plain = await smallFolder('plain', { metadata: false });
    const loaded = await loadModelFolder(plain);
    expect(loaded.metadata).toBeNull();
    expect(loaded.notes).toEqual([
      `${plain} has no metadata.json (a plain TensorFlow.js model folder)`,
      'No SHA-256 is recorded for the weights (an older or foreign model folder), so damage to them cannot be detected',
    ]);
    loaded.model.dispose();

    const nan = await smallFolder('nan', { metadata: false });
    const values = new Float32Array(7850).fill(0.01);
    values[7845] = Number.NaN;
    await writeFile(path.join(nan, 'weights.bin'), new Uint8Array(values.buffer));
    expect(await refusal(loadModelFolder(nan))).toBe(`${nan}: weight out/bias holds a non-finite value (NaN or infinity) at index 5; the weights are damaged`);
  });

  it('loads a folder whose files are links inside it (paths resolved after realpath)', async () => {
    const dir = await smallFolder('linked');
    await mkdir(path.join(dir, 'shards'));
    await writeFile(path.join(dir, 'shards', 'w.bin'), await readFile(path.join(dir, 'weights.bin')));
    await rm(path.join(dir, 'weights.bin'));
    await symlink(path.join(await realpath(dir), 'shards', 'w.bin'), path.join(dir, 'weights.bin'));
    const loaded = await loadModelFolder(dir);
    loaded.model.dispose();
  });
});
