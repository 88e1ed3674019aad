import type * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ModelMetadata } from '../ml/modelFolder.ts';
import { CurrentModelSlot } from './currentModel.ts';
import { CURRENT_MODEL_FILE } from './workspace.ts';

let workspaceDir: string;
beforeEach(async () => {
  workspaceDir = await mkdtemp(path.join(os.tmpdir(), 'digits-current-'));
});
afterEach(async () => {
  await rm(workspaceDir, { recursive: true, force: true });
});

/** A model that only records whether it was disposed: the slot never looks inside. */
function fakeModel() {
  return { dispose: vi.fn() } as unknown as tf.LayersModel & { dispose: ReturnType<typeof vi.fn> };
}

function slotWith(models: Record<string, ReturnType<typeof fakeModel>>, onChange = vi.fn()) {
  const metadata = { preset: 'seed', test: { accuracy: 0.9 }, createdAt: '2026-11-29T00:00:00Z' } as unknown as ModelMetadata;
  const loadFolder = vi.fn(async (dir: string) => {
    const model = models[path.basename(dir)];
    if (!model) throw new Error(`${dir}: no such folder`);
    return { model, metadata };
  });
  return { slot: new CurrentModelSlot({ workspaceDir, loadFolder, onChange }), loadFolder, onChange };
}

describe('CurrentModelSlot', () => {
  it('refuses use before any model, with the no-model error', async () => {
    const { slot } = slotWith({});
    expect(await slot.info()).toBeNull();
    await expect(slot.use(() => 1)).rejects.toMatchObject({ code: 'no-model' });
  });

  it('keeps a replaced model alive until its last user is done, then disposes it', async () => {
    const a = fakeModel();
    const b = fakeModel();
    const { slot, onChange } = slotWith({ a, b });
    await slot.replace(path.join(workspaceDir, 'a'), 'imported');
    let finish!: () => void;
    let started!: () => void;
    const inUse = new Promise<void>((resolve) => (started = resolve));
    const using = slot.use((current) => {
      started();
      return new Promise<tf.LayersModel>((resolve) => (finish = () => resolve(current.model)));
    });
    await inUse;
    const info = await slot.replace(path.join(workspaceDir, 'b'), 'trained');
    expect(info).toMatchObject({ origin: 'trained', preset: 'seed', testAccuracy: 0.9, dir: path.join(workspaceDir, 'b') });
    expect(onChange).toHaveBeenCalledTimes(2);
    expect(a.dispose).not.toHaveBeenCalled();
    finish();
    expect(await using).toBe(a);
    expect(a.dispose).toHaveBeenCalledTimes(1);
    expect(b.dispose).not.toHaveBeenCalled();
    expect(await slot.use((current) => current.model)).toBe(b);
    slot.dispose();
    expect(b.dispose).toHaveBeenCalledTimes(1);
  });

  it('remembers the choice in the workspace (whole file, no temp file left) and restores it in a new slot', async () => {
    const { slot } = slotWith({ a: fakeModel() });
    await slot.replace(path.join(workspaceDir, 'a'), 'imported');
    expect(await readdir(workspaceDir)).toEqual([CURRENT_MODEL_FILE]);
    expect(JSON.parse(await readFile(path.join(workspaceDir, CURRENT_MODEL_FILE), 'utf8'))).toEqual({
      dir: path.join(workspaceDir, 'a'),
      origin: 'imported',
    });
    const again = slotWith({ a: fakeModel() });
    expect(await again.slot.info()).toMatchObject({ origin: 'imported', dir: path.join(workspaceDir, 'a') });
    expect(again.onChange).not.toHaveBeenCalled();
  });

  it('starts without a model when the remembered folder is gone or the note is unreadable', async () => {
    await writeFile(path.join(workspaceDir, CURRENT_MODEL_FILE), JSON.stringify({ dir: path.join(workspaceDir, 'gone') }));
    expect(await slotWith({}).slot.info()).toBeNull();
    await writeFile(path.join(workspaceDir, CURRENT_MODEL_FILE), '{half');
    expect(await slotWith({}).slot.info()).toBeNull();
  });

  it('tells whether a model handed to use() is still current', async () => {
    const { slot } = slotWith({ a: fakeModel(), b: fakeModel() });
    await slot.replace(path.join(workspaceDir, 'a'), 'imported');
    const first = await slot.use((current) => current);
    expect(slot.isCurrent(first)).toBe(true);
    await slot.replace(path.join(workspaceDir, 'b'), 'imported');
    expect(slot.isCurrent(first)).toBe(false);
  });
});
