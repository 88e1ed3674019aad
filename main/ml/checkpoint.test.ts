import * as tf from '@tensorflow/tfjs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nodeFolderFs, type FolderFs } from './atomicFolder.ts';
import { selectBackend } from './backend.ts';
import {
  CheckpointError,
  checkpointsDir,
  loadCheckpoint,
  readCheckpointInfo,
  saveCheckpoint,
  type CheckpointState,
  type LoadedCheckpoint,
  type RunSettings,
} from './checkpoint.ts';

const settings: RunSettings = { preset: 'seed', totalSteps: 100, batchSize: 10, learningRate: 0.1, trainCount: 50, seed: 1 };

/** A small checkpoint whose weights are all `value`, so which one was loaded is visible. */
function stateAt(step: number, value = step): CheckpointState {
  return {
    step,
    settings,
    weights: [tf.fill([4, 3], value), tf.fill([3], value)],
    averages: [tf.fill([4, 3], value + 0.5)],
    optimizer: [{ name: 'iter', tensor: tf.scalar(step) }],
  };
}

async function save(runDir: string, step: number, fsx?: FolderFs): Promise<void> {
  const state = stateAt(step);
  try {
    await saveCheckpoint(runDir, state, fsx);
  } finally {
    tf.dispose([...state.weights, ...state.averages, ...state.optimizer.map((n) => n.tensor)]);
  }
}

/** Loads, checks the tensors belong to the step, disposes them; returns step, folder and notes. */
async function load(runDir: string): Promise<Pick<LoadedCheckpoint, 'step' | 'folder' | 'notes'> | null> {
  const loaded = await loadCheckpoint(runDir);
  if (!loaded) return null;
  expect(loaded.weights[0].dataSync()[0]).toBe(loaded.step);
  expect(loaded.averages[0].dataSync()[0]).toBe(loaded.step + 0.5);
  tf.dispose([...loaded.weights, ...loaded.averages, ...loaded.optimizer.map((n) => n.tensor)]);
  return { step: loaded.step, folder: loaded.folder, notes: loaded.notes };
}

let tmp: string;
let runDir: string;
beforeAll(async () => {
  await selectBackend('cpu');
});
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-checkpoint-'));
  runDir = path.join(tmp, 'run');
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const stepFolder = (step: number) => path.join(checkpointsDir(runDir), `step-${String(step).padStart(8, '0')}`);

describe('checkpoints', () => {
  it('are numbered folders; the newest loads and the last two are kept', async () => {
    expect(await load(runDir)).toBeNull();
    for (const step of [10, 20, 30]) await save(runDir, step);
    expect(await readdir(checkpointsDir(runDir))).toEqual(['step-00000020', 'step-00000030']);
    expect(await load(runDir)).toEqual({ step: 30, folder: stepFolder(30), notes: [] });
    expect(await readCheckpointInfo(runDir)).toMatchObject({ step: 30, totalSteps: 100, settings });
  });

  it('fall back to the previous checkpoint when the newest is corrupt, saying which file and why', async () => {
    await save(runDir, 10);
    await save(runDir, 20);
    const tensors = path.join(stepFolder(20), 'tensors.bin');
    const bytes = await readFile(tensors);
    bytes[5] ^= 0xff; // same size, different contents: only the hash tells
    await writeFile(tensors, bytes);
    const loaded = await load(runDir);
    expect(loaded?.step).toBe(10);
    expect(loaded?.notes).toEqual([
      `Skipped a newer checkpoint: ${tensors} does not match the SHA-256 in checkpoint.json (the file is corrupt); using the one at step 10.`,
    ]);
    // The next save replaces the corrupt future and keeps the good one.
    await save(runDir, 15);
    expect(await readdir(checkpointsDir(runDir))).toEqual(['step-00000010', 'step-00000015']);
  });

  it('keep a verified checkpoint as the backup, never a corrupt one', async () => {
    await save(runDir, 10);
    await save(runDir, 20);
    const tensors = path.join(stepFolder(20), 'tensors.bin');
    const bytes = await readFile(tensors);
    bytes[0] ^= 0xff;
    await writeFile(tensors, bytes);
    // Resumed from 10, the run saves next at 30 (beyond the corrupt 20).
    await save(runDir, 30);
    expect(await readdir(checkpointsDir(runDir))).toEqual(['step-00000010', 'step-00000030']);
  });

  it('validate checkpoint.json and refuse it naming the file and the field', async () => {
    await save(runDir, 10);
    const manifestFile = path.join(stepFolder(10), 'checkpoint.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    await writeFile(manifestFile, JSON.stringify({ ...manifest, step: 'thirty' }));
    await expect(loadCheckpoint(runDir)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(runDir)).rejects.toThrow(`${manifestFile} is not a valid checkpoint: step: Invalid input: expected number, received string`);
    expect(await readCheckpointInfo(runDir)).toBeNull();

    await writeFile(manifestFile, JSON.stringify({ ...manifest, settings: { ...settings, totalSteps: 5 } }));
    await expect(loadCheckpoint(runDir)).rejects.toThrow(`${manifestFile} is not a valid checkpoint: step: step 10 is beyond the run's 5 steps`);
    await writeFile(manifestFile, '{"format": "digit-studio-checkpoint/2", "step": 10');
    await expect(loadCheckpoint(runDir)).rejects.toThrow(`${manifestFile} is not valid JSON`);
  });

  it('say what is still safe when the disk fills up', async () => {
    await save(runDir, 25);
    const full: FolderFs = {
      ...nodeFolderFs,
      writeFileSynced: async () => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    await expect(save(runDir, 50, full)).rejects.toThrow(
      `Could not write the checkpoint at step 50 in ${checkpointsDir(runDir)} (no space left on the disk); the checkpoint at step 25 is intact.`,
    );
    expect((await load(runDir))?.step).toBe(25);
    expect(await readdir(checkpointsDir(runDir))).toEqual(['step-00000025']);
  });

  it('keep a verified checkpoint of the same step as it is (a resumed run stopped before its next step)', async () => {
    await save(runDir, 10);
    const before = await readFile(path.join(stepFolder(10), 'checkpoint.json'), 'utf8');
    await save(runDir, 10);
    expect(await readFile(path.join(stepFolder(10), 'checkpoint.json'), 'utf8')).toBe(before);
  });

  it('still read a run saved by an earlier version (checkpoint/, no hash) with a note, and supersede it', async () => {
    await save(runDir, 10);
    // Make it look like the old single-folder layout.
    const legacy = path.join(runDir, 'checkpoint');
    await mkdir(legacy);
    for (const file of ['checkpoint.json', 'tensors.bin']) await writeFile(path.join(legacy, file), await readFile(path.join(stepFolder(10), file)));
    const manifest = JSON.parse(await readFile(path.join(legacy, 'checkpoint.json'), 'utf8'));
    delete manifest.tensors;
    await writeFile(path.join(legacy, 'checkpoint.json'), JSON.stringify({ ...manifest, format: 'digit-studio-checkpoint/1' }));
    await rm(checkpointsDir(runDir), { recursive: true });
    const loaded = await load(runDir);
    expect(loaded?.step).toBe(10);
    expect(loaded?.notes[0]).toMatch(/written by an earlier version without a SHA-256; it was not verified/);
    await save(runDir, 20);
    expect(await readdir(runDir)).toEqual(['checkpoints']);
  });
});
