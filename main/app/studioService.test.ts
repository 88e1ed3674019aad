import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../ml/backend.ts';
import { PIXELS, sliceImageSet, type MnistSplits } from '../ml/dataset.ts';
import { acquireLock, destinationLockFile, runLockFile } from '../ml/folderLock.ts';
import { PICTURE_LIMITS, REQUEST_LIMITS } from '../ml/limits.ts';
import { loadMnist } from '../ml/mnist.ts';
import { loadModelFolder } from '../ml/modelFolder.ts';
import { exportModel } from '../ml/runs.ts';
import { trainModel } from '../ml/trainer.ts';
import type { ModelInfo, TrainingUpdate } from './contract.ts';
import { fakeForker } from './fakeTrainer.ts';
import { createStudioService, type StudioService } from './studioService.ts';
import { rejection } from './testing.ts';
import { unzipSync, zipSync } from 'fflate';

let tmp: string;
let modelDir: string;
let data: MnistSplits;

/** An MNIST test digit as a photo would have it: dark ink on white, 4x larger, as PNG bytes. */
async function digitPng(index: number): Promise<Uint8Array> {
  const ink = data.test.images.subarray(index * PIXELS, (index + 1) * PIXELS);
  const paper = Buffer.from(ink.map((v) => 255 - v));
  return sharp(paper, { raw: { width: 28, height: 28, channels: 1 } }).resize(112, 112).png().toBuffer();
}

/** What the desktop's native dialogs answer next (main asks them; the window never names a path). */
const dialogs = { folder: null as string | null, replace: true, asked: [] as string[] };

function newService(workspace: string, fork = fakeForker().fork): StudioService {
  return createStudioService({
    workspaceDir: workspace,
    shell: 'browser',
    backend: 'wasm',
    forkTrainer: fork,
    version: '9.9.9',
    chooseFolder: async () => dialogs.folder,
    confirmOverwrite: async (dir) => (dialogs.asked.push(dir), dialogs.replace),
  });
}

/** The browser version: no dialogs, so no folder paths at all; models travel as downloads and uploads. */
function browserService(workspace: string): StudioService {
  return createStudioService({ workspaceDir: workspace, shell: 'browser', backend: 'wasm', forkTrainer: fakeForker().fork, version: '9.9.9' });
}

/** Imports `dir` as if the user picked it in the desktop's folder chooser. */
function importFolder(service: StudioService, dir: string) {
  dialogs.folder = dir;
  return service.handlers.importModel(undefined);
}

/** Exports the current model to `dir` as if the user picked it (and answered `replace` if asked). */
function exportTo(service: StudioService, dir: string, replace = true) {
  dialogs.folder = dir;
  dialogs.replace = replace;
  return service.handlers.exportModel(undefined);
}

beforeAll(async () => {
  await selectBackend('wasm');
  data = await loadMnist();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'studio-service-'));
  // A small real model: the fast preset, 60 steps on 3,000 images (about 85-90% on the test set).
  const result = await trainModel(
    { ...data, validation: sliceImageSet(data.validation, 0, 0) },
    { preset: 'fast', runDir: path.join(tmp, 'run'), steps: 60, limit: 3000, validate: false },
  );
  modelDir = path.join(tmp, 'trained-model');
  await exportModel(result.model, result.settings, result.step, modelDir);
  result.model.dispose();
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('studio service', () => {
  it('reports the app: backend, data set counts, presets and limits', async () => {
    const service = newService(path.join(tmp, 'ws-info'));
    const info = await service.handlers.getAppInfo(undefined);
    expect(info.version).toBe('9.9.9');
    expect(info.shell).toBe('browser');
    expect(info.backend.name).toBe('wasm');
    expect(info.dataset).toMatchObject({ train: 55_000, validation: 5_000, test: 10_000 });
    expect(info.presets.map((p) => p.name).sort()).toEqual(['cnn', 'fast', 'seed']);
    expect(info.presets.find((p) => p.name === 'seed')).toMatchObject({ batchSize: 200, learningRate: 0.1, defaultSteps: 50_000 });
    expect(info.limits.maxBatchSize).toBeGreaterThan(info.limits.minBatchSize);
    // The window learns main's own picture and request limits, so it never sends what main refuses.
    expect(info.limits).toMatchObject({ maxPictureBytes: PICTURE_LIMITS.maxFileBytes, maxRequestBytes: REQUEST_LIMITS.maxPredictionBytes });
    expect(info.limits.maxRequestBytes).toBeGreaterThanOrEqual(info.limits.maxPictureBytes);
    await service.dispose();
  });

  it('rejects invalid payloads with a message naming the problem, and works without a model where it can', async () => {
    const service = newService(path.join(tmp, 'ws-invalid'));
    const bad = await rejection(service.handlers.startTraining({ preset: 'huge' } as never));
    expect(bad.code).toBe('invalid-payload');
    expect(bad.message).toMatch(/startTraining.*preset must be one of/);
    expect((await rejection(service.handlers.getTestImages({ indices: [10_000] }))).message).toMatch(/Test image 10000 does not exist/);
    expect((await rejection(service.handlers.evaluateModel(undefined))).code).toBe('no-model');
    expect((await rejection(service.handlers.predictImages({ files: [] }))).code).toBe('no-model');
    expect(await service.handlers.getCurrentModel(undefined)).toBeNull();
    const [image] = await service.handlers.getTestImages({ indices: [3] });
    expect(image).toMatchObject({ index: 3, label: data.test.labels[3], probabilities: [] });
    expect(image.pixels).toEqual(data.test.images.slice(3 * PIXELS, 4 * PIXELS));
    await service.dispose();
  });

  it('imports a model folder, evaluates it on the test set and serves test images with its probabilities', async () => {
    const workspace = path.join(tmp, 'ws-eval');
    const service = newService(workspace);
    const changes: ModelInfo[] = [];
    service.events.on('modelChanged', (info) => changes.push(info));
    const info = await importFolder(service, modelDir);
    expect(info).toMatchObject({ origin: 'imported', dir: modelDir, preset: 'fast' });
    expect(changes).toEqual([info]);
    expect(await service.handlers.getCurrentModel(undefined)).toEqual(info);

    const progress: { done: number; total: number }[] = [];
    service.events.on('evaluationProgress', (report) => progress.push(report));
    const summary = await service.handlers.evaluateModel(undefined);
    expect(summary.count).toBe(10_000);
    // Progress is reported batch by batch, rising to every test image.
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toEqual({ done: 10_000, total: 10_000 });
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
    expect(summary.accuracy).toBeGreaterThan(0.75);
    expect(summary.confusion.flat().reduce((a, b) => a + b, 0)).toBe(10_000);
    // Off-diagonal cells list every image; diagonal cells at most 50.
    for (let t = 0; t < 10; t++) {
      for (let p = 0; p < 10; p++) {
        const listed = summary.cellIndices[`${t}-${p}`] ?? [];
        expect(listed.length).toBe(t === p ? Math.min(50, summary.confusion[t][p]) : summary.confusion[t][p]);
        for (const i of listed) expect(data.test.labels[i]).toBe(t);
      }
    }
    expect(summary.topMistakes.length).toBeLessThanOrEqual(100);
    const confidences = summary.topMistakes.map((m) => m.confidence);
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
    const reported = progress.length;
    expect(await service.handlers.evaluateModel(undefined)).toBe(summary); // cached per model
    expect(progress.length).toBe(reported);

    const mistake = summary.topMistakes[0];
    const [image] = await service.handlers.getTestImages({ indices: [mistake.index] });
    expect(image.label).toBe(mistake.label);
    expect(image.probabilities.indexOf(Math.max(...image.probabilities))).toBe(mistake.predicted);
    expect(Math.max(...image.probabilities)).toBeCloseTo(mistake.confidence, 5);

    // A restarted service finds the same current model.
    await service.dispose();
    const again = newService(workspace);
    expect(await again.handlers.getCurrentModel(undefined)).toMatchObject({ dir: modelDir, origin: 'imported' });
    await again.dispose();
  });

  it('never makes a refused folder the current model; a remembered folder that turned hostile does not stop start-up', async () => {
    const workspace = path.join(tmp, 'ws-hostile');
    const service = newService(workspace);
    const good = await importFolder(service, modelDir);
    const remembered = await readFile(path.join(workspace, 'current-model.json'), 'utf8');
    // Weights garbled at the same size: only the SHA-256 in metadata.json tells.
    const garbled = path.join(tmp, 'garbled-model');
    await cp(modelDir, garbled, { recursive: true });
    await writeFile(path.join(garbled, 'weights.bin'), (await readFile(path.join(garbled, 'weights.bin'))).reverse());
    expect((await rejection(importFolder(service, garbled))).message).toBe(
      `${garbled}: weights.bin does not match the SHA-256 recorded in metadata.json: the file is damaged or was changed`,
    );
    expect(await service.handlers.getCurrentModel(undefined)).toEqual(good);
    expect(await readFile(path.join(workspace, 'current-model.json'), 'utf8')).toBe(remembered);
    await service.dispose();

    // The remembered folder itself changes after the import: its weights.bin becomes a named pipe.
    const folder = path.join(tmp, 'turns-hostile');
    await cp(modelDir, folder, { recursive: true });
    const first = newService(path.join(tmp, 'ws-turns'));
    await importFolder(first, folder);
    await first.dispose();
    await rm(path.join(folder, 'weights.bin'));
    execFileSync('mkfifo', [path.join(folder, 'weights.bin')]);
    const next = newService(path.join(tmp, 'ws-turns'));
    expect(await next.handlers.getCurrentModel(undefined)).toBeNull(); // today: hangs on the pipe
    const info = await next.handlers.getAppInfo(undefined);
    expect(info.notices).toEqual([
      `The model of the last session was not loaded, so there is no current model: ${folder}: weights file "weights.bin" (listed in model.json) is a named pipe, not a regular file; refused`,
    ]);
    expect((await rejection(next.handlers.evaluateModel(undefined))).code).toBe('no-model');
    await next.dispose();
  });

  it('imports a plain tfjs folder (no metadata.json) with a note the user sees', async () => {
    const plain = path.join(tmp, 'plain-model');
    await mkdir(plain);
    for (const name of ['model.json', 'weights.bin']) await cp(path.join(modelDir, name), path.join(plain, name));
    const service = newService(path.join(tmp, 'ws-plain'));
    const info = await importFolder(service, plain);
    expect(info).toMatchObject({ origin: 'imported', preset: null });
    expect(info?.notes).toEqual([
      `${plain} has no metadata.json (a plain TensorFlow.js model folder)`,
      'No SHA-256 is recorded for the weights (an older or foreign model folder), so damage to them cannot be detected',
    ]);
    await service.dispose();
  });

  it('predicts a good PNG and fails a corrupt file on its own in the same call', async () => {
    const service = newService(path.join(tmp, 'ws-predict'));
    await importFolder(service, modelDir);
    const good = await digitPng(0);
    const results = await service.handlers.predictImages({
      files: [
        { name: 'seven.png', bytes: good },
        { name: 'broken.png', bytes: good.subarray(0, 60) },
      ],
    });
    expect(results).toHaveLength(2);
    const [ok, failed] = results;
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.name).toBe('seven.png');
      expect(ok.digit).toBe(data.test.labels[0]);
      expect(ok.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(ok.input).toHaveLength(784);
    }
    expect(failed).toMatchObject({ name: 'broken.png', ok: false });
    if (!failed.ok) expect(failed.error).toMatch(/broken\.png/);
    await service.dispose();
  });

  it('fails an oversized picture on its own card and still predicts its neighbours', async () => {
    const service = newService(path.join(tmp, 'ws-oversized'));
    await importFolder(service, modelDir);
    const good = await digitPng(1);
    const huge = new Uint8Array(PICTURE_LIMITS.maxFileBytes + 1);
    huge.set(good);
    const results = await service.handlers.predictImages({
      files: [
        { name: 'one.png', bytes: good },
        { name: 'photo.png', bytes: huge },
        { name: 'again.png', bytes: good },
      ],
    });
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ name: 'photo.png', ok: false, code: 'too-large', error: expect.stringMatching(/photo\.png: the file is 25\.1 MB, larger than the 25\.0 MB limit/) });
    await service.dispose();
  });

  it('exports where the user chose, asks before replacing a previous model, never replaces anything else', async () => {
    const service = newService(path.join(tmp, 'ws-export'));
    expect((await rejection(exportTo(service, path.join(tmp, 'nowhere')))).code).toBe('no-model');
    await importFolder(service, modelDir);

    const fresh = path.join(tmp, 'export-fresh');
    dialogs.asked = [];
    expect(await exportTo(service, fresh)).toEqual({ status: 'exported', dir: fresh });
    expect(dialogs.asked).toEqual([]); // an empty or missing folder needs no question
    expect((await readdir(fresh)).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);

    // A folder holding anything but a model is never replaced, whatever the user would answer.
    const notes = path.join(tmp, 'export-notes');
    await mkdir(notes);
    await writeFile(path.join(notes, 'notes.txt'), 'keep me');
    const refused = await rejection(exportTo(service, notes, true));
    expect(refused.code).toBe('conflict');
    expect(refused.message).toBe(`${notes} holds other files (notes.txt); only an empty folder or a previous model folder is replaced`);
    const file = path.join(tmp, 'export-file');
    await writeFile(file, 'not a folder');
    expect((await rejection(exportTo(service, file, true))).message).toBe(`${file} is a file, not a model folder; it is never replaced`);
    expect(await readFile(path.join(notes, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(await readFile(file, 'utf8')).toBe('not a folder');

    // A previous model folder: the user is asked; "Cancel" keeps it, "Replace" replaces it.
    const busy = path.join(tmp, 'export-busy');
    await cp(fresh, busy, { recursive: true });
    await writeFile(path.join(busy, 'model.json'), '{"old": true}');
    dialogs.asked = [];
    expect(await exportTo(service, busy, false)).toEqual({ status: 'cancelled' });
    expect(await readFile(path.join(busy, 'model.json'), 'utf8')).toBe('{"old": true}');
    expect(await exportTo(service, busy, true)).toEqual({ status: 'exported', dir: busy });
    expect(dialogs.asked).toEqual([busy, busy]);
    expect((await readdir(busy)).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    expect((await readdir(tmp)).filter((name) => name.startsWith('export-busy'))).toEqual(['export-busy']);

    // While another export (this app or `digits export`) writes the folder, a second one is refused.
    const lock = await acquireLock(destinationLockFile(busy), `export folder ${busy}`);
    const locked = await rejection(exportTo(service, busy, true));
    expect(locked.code).toBe('busy');
    expect(locked.message).toMatch(`export folder ${busy} is in use by process ${process.pid}`);
    await lock.release();
    // Cancelling the chooser does nothing.
    dialogs.folder = null;
    expect(await service.handlers.exportModel(undefined)).toEqual({ status: 'cancelled' });
    expect(await service.handlers.importModel(undefined)).toBeNull();

    // The exported folder is a model: importing it gives the same predictions.
    const indices = [0, 1, 2, 3, 8];
    const before = await service.handlers.getTestImages({ indices });
    const reimported = await importFolder(service, busy);
    expect(reimported).toMatchObject({ origin: 'imported', dir: busy, preset: 'fast' });
    const after = await service.handlers.getTestImages({ indices });
    expect(before.every((image) => image.probabilities.length === 10)).toBe(true);
    after.forEach((image, i) => image.probabilities.forEach((p, c) => expect(p).toBeCloseTo(before[i].probabilities[c], 6)));
    expect((await rejection(importFolder(service, path.join(tmp, 'no-such-model')))).message).toMatch(/no-such-model/);
    await service.dispose();
  });

  it('takes no folder path from the window: export and import ignore any payload path, and refuse without dialogs', async () => {
    for (const name of ['exportModel', 'importModel'] as const) {
      const refused = await rejection((service() as unknown as Record<string, (p: unknown) => Promise<unknown>>)[name]({ dir: '/etc' }));
      expect(refused.code).toBe('invalid-payload');
    }
    const browser = browserService(path.join(tmp, 'ws-no-dialogs'));
    expect((await rejection(browser.handlers.importModel(undefined))).message).toMatch(/desktop app; here the model is uploaded/);
    await browser.dispose();

    function service() {
      return newService(path.join(tmp, 'ws-no-paths')).handlers;
    }
  });

  it('in the browser, export is a zip download and import an upload (zip, files or a folder\'s files), checked like a folder', async () => {
    const service = browserService(path.join(tmp, 'ws-browser'));
    expect((await rejection(service.handlers.downloadModel(undefined))).code).toBe('no-model');
    const original = await Promise.all(['model.json', 'weights.bin', 'metadata.json'].map((name) => readFile(path.join(modelDir, name))));
    const folderFiles = ['model.json', 'weights.bin', 'metadata.json'].map((name, i) => ({ name: `my-model/${name}`, bytes: new Uint8Array(original[i]) }));
    const uploaded = await service.handlers.uploadModel({ files: folderFiles });
    expect(uploaded).toMatchObject({ origin: 'imported', preset: 'fast' });
    expect(uploaded.dir!.startsWith(path.join(tmp, 'ws-browser'))).toBe(true);
    const picture = await digitPng(5);
    const before = await service.handlers.predictImages({ files: [{ name: 'five.png', bytes: picture }] });

    // The download: one zip holding exactly the model folder's files.
    const download = await service.handlers.downloadModel(undefined);
    expect(download.name).toMatch(/^digit-model-fast-\d{4}-\d\d-\d\d\.zip$/);
    const unzipped = unzipSync(download.bytes);
    expect(Object.keys(unzipped).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    expect(Buffer.from(unzipped['weights.bin']).equals(original[1])).toBe(true);

    // Uploading the zip back gives the same predictions; the previous upload's folder is gone.
    const again = await service.handlers.uploadModel({ files: [download] });
    expect(again.dir).not.toBe(uploaded.dir);
    expect(await readdir(path.dirname(again.dir!))).toEqual([path.basename(again.dir!)]);
    expect(await service.handlers.predictImages({ files: [{ name: 'five.png', bytes: picture }] })).toEqual(before);

    // What is not a model is refused with a message about the upload, never a server path.
    const refusals: [Parameters<typeof service.handlers.uploadModel>[0], RegExp][] = [
      [{ files: [{ name: 'notes.txt', bytes: new Uint8Array([1]) }] }, /no model\.json among notes\.txt/],
      [{ files: [...folderFiles, { name: 'my-model/run.sh', bytes: new Uint8Array([1]) }] }, /run\.sh is not part of a model folder/],
      [{ files: [{ name: 'model.zip', bytes: zipSync({ 'a/b/model.json': new Uint8Array([1]), 'c/weights.bin': new Uint8Array([2]) }) }] }, /not folders/],
      [{ files: [{ name: 'model.zip', bytes: new Uint8Array([0x50, 0x4b, 3, 4, 9, 9]) }] }, /not a zip file that can be read/],
      [{ files: [{ name: 'model.json', bytes: new TextEncoder().encode('{"modelTopology": 1') }, folderFiles[1]] }, /Could not load the uploaded model/],
    ];
    for (const [payload, message] of refusals) {
      const refused = await rejection(service.handlers.uploadModel(payload));
      expect(refused.message).toMatch(message);
      expect(refused.message).not.toContain(tmp);
    }
    expect(await service.handlers.getCurrentModel(undefined)).toEqual(again);
    await service.dispose();
  });

  it('a fine-tune of the current model trains from the run\'s own copy of it, so the imported folder may go', async () => {
    const forker = fakeForker();
    const workspace = path.join(tmp, 'ws-fine-tune');
    const service = newService(workspace, forker.fork);
    const external = path.join(tmp, 'usb-stick', 'my-model');
    await cp(modelDir, external, { recursive: true });
    await importFolder(service, external);
    const { runId } = await service.handlers.startTraining({ preset: 'fast', startFrom: 'current', steps: 10 });
    const copy = path.join(workspace, 'runs', runId, 'start-model');
    const child = forker.children[0];
    child.play({ type: 'ready' });
    expect(child.sent[0]).toMatchObject({ type: 'start', fromModelDir: copy, fromModelName: 'my-model' });
    await rm(path.join(tmp, 'usb-stick'), { recursive: true });
    const loaded = await loadModelFolder(copy);
    try {
      expect(loaded.metadata?.preset).toBe('fast');
      const original = await readFile(path.join(modelDir, 'weights.bin'));
      expect(Buffer.from(await readFile(path.join(copy, 'weights.bin'))).equals(original)).toBe(true);
    } finally {
      loaded.model.dispose();
    }
    child.play({ type: 'stopped', step: 2, totalSteps: 10, modelDir: null, testAccuracy: null });
    child.exit();
    await service.dispose();
  });

  it('makes a finished training run the current model and announces it', async () => {
    const forker = fakeForker();
    const service = newService(path.join(tmp, 'ws-train'), forker.fork);
    const updates: TrainingUpdate[] = [];
    const changes: ModelInfo[] = [];
    service.events.on('training', (u) => updates.push(u));
    service.events.on('modelChanged', (m) => changes.push(m));
    const { runId } = await service.handlers.startTraining({ preset: 'fast', steps: 10 });
    const child = forker.children[0];
    child.play({ type: 'ready' });
    expect(child.sent[0]).toMatchObject({ type: 'start', request: { preset: 'fast', steps: 10 }, backend: 'wasm' });
    child.play({ type: 'done', modelDir, testAccuracy: 0.9, step: 10 });
    await expect.poll(() => updates.some((u) => u.type === 'done')).toBe(true);
    const done = updates.find((u) => u.type === 'done')!;
    expect(done).toMatchObject({ type: 'done', runId, testAccuracy: 0.9, model: { origin: 'trained', dir: modelDir } });
    expect(changes.map((c) => c.origin)).toEqual(['trained']);
    expect(await service.handlers.getCurrentModel(undefined)).toMatchObject({ origin: 'trained', dir: modelDir });
    expect((await service.handlers.getTrainingSnapshot(undefined)).state).toBe('finished');
    child.exit();
    await service.dispose();
  });
});

describe('studio service: runs and the current model', () => {
  it('offers a worse new model beside the current one and changes nothing until the user switches', async () => {
    const forker = fakeForker();
    const workspace = path.join(tmp, 'ws-offer');
    const service = newService(workspace, forker.fork);
    const offers: unknown[] = [];
    const changes: ModelInfo[] = [];
    service.events.on('modelOffer', (o) => offers.push(o));
    service.events.on('modelChanged', (m) => changes.push(m));
    const imported = await importFolder(service, modelDir);
    const currentAccuracy = (await service.handlers.evaluateModel(undefined)).accuracy;

    const { runId } = await service.handlers.startTraining({ preset: 'fast', steps: 10 });
    // The run's model: the same architecture, barely trained (worse than the current one).
    const runModel = path.join(workspace, 'runs', runId, 'model');
    const weak = await trainModel(
      { ...data, validation: sliceImageSet(data.validation, 0, 0) },
      { preset: 'fast', runDir: path.join(workspace, 'runs', runId), steps: 2, limit: 200, validate: false },
    );
    await exportModel(weak.model, weak.settings, weak.step, runModel);
    weak.model.dispose();
    const child = forker.children[0];
    child.play({ type: 'ready' });
    child.play({ type: 'done', modelDir: runModel, testAccuracy: 0.3, step: 2 });
    await expect.poll(() => offers.length).toBe(1);
    expect(offers[0]).toMatchObject({ runId, status: 'finished', testAccuracy: 0.3, currentAccuracy, better: 'current', model: { dir: runModel, runId } });
    expect(await service.handlers.getCurrentModel(undefined)).toEqual(imported);
    expect(changes).toHaveLength(1); // the import only
    expect(await service.handlers.getModelOffer(undefined)).toMatchObject({ runId });

    // The run's model cannot be deleted once it is current; it can be renamed and exported.
    const used = await service.handlers.useRunModel({ runId });
    expect(used).toMatchObject({ origin: 'trained', dir: runModel, runId });
    expect(offers.at(-1)).toBeNull();
    expect(await service.handlers.getModelOffer(undefined)).toBeNull();
    expect((await rejection(service.handlers.deleteRun({ runId }))).code).toBe('conflict');
    expect(await service.handlers.labelRun({ runId, name: 'Two steps', note: 'too short' })).toMatchObject({ runId, name: 'Two steps', note: 'too short' });
    const out = path.join(tmp, 'run-export');
    dialogs.folder = out;
    expect(await service.handlers.exportRunModel({ runId })).toEqual({ status: 'exported', dir: out });
    expect((await readdir(out)).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    const zip = await service.handlers.downloadRunModel({ runId });
    expect(zip.name).toBe(`digit-model-${runId}.zip`);
    expect(zip.bytes.byteLength).toBeGreaterThan(1000);

    // Switching back to the imported model makes the run deletable.
    await importFolder(service, modelDir);
    // ... unless another process (a `digits train` on the same folder) holds the run's lock.
    const lock = await acquireLock(runLockFile(path.dirname(runModel)), 'run');
    const locked = await rejection(service.handlers.deleteRun({ runId }));
    expect(locked.code).toBe('busy');
    expect(locked.message).toMatch(/in use by process \d+/);
    await lock.release();
    await service.handlers.deleteRun({ runId });
    expect((await service.handlers.listRuns(undefined)).map((r) => r.runId)).not.toContain(runId);
    expect((await rejection(service.handlers.useRunModel({ runId }))).code).toBe('not-found');
    child.exit();
    await service.dispose();
  });

  it('makes a stopped run\'s model current when there is no current model', async () => {
    const forker = fakeForker();
    const workspace = path.join(tmp, 'ws-stopped');
    const service = newService(workspace, forker.fork);
    const { runId } = await service.handlers.startTraining({ preset: 'fast', steps: 100 });
    const child = forker.children[0];
    child.play({ type: 'ready' });
    child.play({ type: 'stopped', step: 60, totalSteps: 100, modelDir, testAccuracy: 0.88 });
    await expect.poll(async () => (await service.handlers.getTrainingSnapshot(undefined)).state).toBe('stopped');
    expect(await service.handlers.getCurrentModel(undefined)).toMatchObject({ origin: 'trained', dir: modelDir });
    expect(await service.handlers.getModelOffer(undefined)).toBeNull();
    expect((await service.handlers.getRunCurves({ runIds: [runId] }))[0]).toEqual({ runId, losses: [], epochs: [], times: [] });
    child.exit();
    await service.dispose();
  });
});
