/**
 * Fault injection: a training run saves a checkpoint and then its model folder. A crash is
 * injected at every write step (file write, rename, remove) of that sequence, and again at every
 * rename and remove of the next one after resuming: two crashes in a row. After each crash the run must resume
 * from its newest complete checkpoint and its model folder must load; a final clean save must
 * leave no temp folders behind.
 */
import * as tf from '@tensorflow/tfjs';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFolderFs, type FolderFs } from './atomicFolder.ts';
import { selectBackend } from './backend.ts';
import { checkpointsDir, loadCheckpoint, saveCheckpoint, type RunSettings } from './checkpoint.ts';
import { crashingFs, type CrashingFs } from './crashingFs.ts';
import { loadModelFolder, saveModelFolder } from './modelFolder.ts';
import { buildMetadata } from './runs.ts';

const settings: RunSettings = { preset: 'seed', totalSteps: 1000, batchSize: 10, learningRate: 0.1, trainCount: 50, seed: 1 };
const EVERY = 10;
/** fsync makes no difference to a crash simulated inside the process, and costs seconds over 150 cases. */
const unsynced: FolderFs = { ...nodeFolderFs, writeFileSynced: (file, contents) => writeFile(file, contents), syncDirectory: async () => {} };

/** A small model [b, 28, 28, 1] -> [b, 10] whose weights are all `step`, so which copy loaded is visible. */
function modelAt(step: number): tf.Sequential {
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 10 })] });
  model.setWeights(model.getWeights().map((w) => tf.fill(w.shape, step)));
  return model;
}

/** What a finished stretch of training writes: the checkpoint at `step`, then the model folder. */
async function saveRun(runDir: string, step: number, fsx?: CrashingFs): Promise<void> {
  const weights = [tf.fill([3, 2], step)];
  const optimizer = [{ name: 'iter', tensor: tf.scalar(step) }];
  try {
    await saveCheckpoint(runDir, { step, settings, weights, averages: [], optimizer }, fsx);
  } finally {
    tf.dispose([...weights, ...optimizer.map((n) => n.tensor)]);
  }
  const model = modelAt(step);
  try {
    await saveModelFolder(path.join(runDir, 'model'), model, buildMetadata(settings, step), { overwrite: true, fs: fsx });
  } finally {
    model.dispose();
  }
}

/** The step the run resumes from (and checks its tensors belong to it). */
async function resumeStep(runDir: string): Promise<number> {
  const loaded = await loadCheckpoint(runDir);
  expect(loaded).not.toBeNull();
  const { step, weights, optimizer } = loaded!;
  expect(weights[0].dataSync()[0]).toBe(step);
  tf.dispose([...weights, ...optimizer.map((n) => n.tensor)]);
  return step;
}

async function modelStep(runDir: string): Promise<number> {
  const { model, metadata } = await loadModelFolder(path.join(runDir, 'model'));
  const value = model.getWeights()[0].dataSync()[0];
  model.dispose();
  expect(metadata?.training.steps).toBe(value);
  return value;
}

/** What the steps completed before a crash committed: the checkpoint folder, the model folder. */
function committed(runDir: string, step: number, fsx: CrashingFs) {
  const stepFolder = path.join(checkpointsDir(runDir), `step-${String(step).padStart(8, '0')}`);
  const modelDir = path.join(runDir, 'model');
  return {
    checkpoint: fsx.steps.some((s) => s.startsWith('rename ') && s.endsWith(` -> ${stepFolder}`)),
    // Once the old model is moved aside, its complete replacement is what readers get.
    model: fsx.steps.some((s) => s.startsWith('rename ') && (s.endsWith(` -> ${modelDir}`) || s.startsWith(`rename ${modelDir} -> `))),
  };
}

let tmp: string;
let template: string;
beforeAll(async () => {
  await selectBackend('cpu');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'digits-crash-'));
  template = path.join(tmp, 'template');
  await saveRun(template, 10);
  await saveRun(template, 20);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('two crashes in a row at every write step of checkpoint and model saves', () => {
  it('always resume from the newest complete checkpoint and always leave a loadable model', async () => {
    let cases = 0;
    for (let first = 0; ; first++) {
      let firstCompleted = false;
      for (let second = 0; ; second++) {
        const runDir = path.join(tmp, `case-${first}-${second}`);
        await cp(template, runDir, { recursive: true });
        let expected = { checkpoint: 20, model: 20 };

        // First crash, then resume.
        const a = crashingFs(first, unsynced);
        const stepA = (await resumeStep(runDir)) + EVERY;
        await saveRun(runDir, stepA, a).catch(() => undefined);
        if (!a.crashed) firstCompleted = true;
        const doneA = committed(runDir, stepA, a);
        expected = { checkpoint: doneA.checkpoint ? stepA : expected.checkpoint, model: doneA.model ? stepA : expected.model };
        expect(await resumeStep(runDir), `crash at ${a.steps.length}: ${a.steps.at(-1)}`).toBe(expected.checkpoint);
        expect(await modelStep(runDir)).toBe(expected.model);

        // Second crash, then resume.
        // The second crash hits every rename and remove (crashes mid-write are covered by the first).
        const b = crashingFs(second, unsynced, ['rename', 'remove']);
        const stepB = expected.checkpoint + EVERY;
        await saveRun(runDir, stepB, b).catch(() => undefined);
        const doneB = committed(runDir, stepB, b);
        expected = { checkpoint: doneB.checkpoint ? stepB : expected.checkpoint, model: doneB.model ? stepB : expected.model };
        expect(await resumeStep(runDir), `crashes at ${first} then ${second}`).toBe(expected.checkpoint);
        expect(await modelStep(runDir)).toBe(expected.model);
        cases++;

        if (!b.crashed) {
          // A clean save afterwards tidies up: two checkpoints, one model folder, no temp folders.
          await saveRun(runDir, expected.checkpoint + EVERY, crashingFs(Infinity, unsynced));
          expect(await readdir(checkpointsDir(runDir))).toHaveLength(2);
          expect((await readdir(runDir)).sort()).toEqual(['checkpoints', 'model']);
          expect(await resumeStep(runDir)).toBe(expected.checkpoint + EVERY);
          await rm(runDir, { recursive: true });
          break;
        }
        await rm(runDir, { recursive: true });
      }
      if (firstCompleted) break;
    }
    // A save has 13 or so write steps, 8 or so of them renames and removes: every pair was tried.
    expect(cases).toBeGreaterThan(80);
  }, 120_000);
});
