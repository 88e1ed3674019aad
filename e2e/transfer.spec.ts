/**
 * Export the current model to a folder (typed on the server in the browser mode), check the files
 * on disk, overwrite after confirming, and import the folder back as the current model.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, expect } from './fixtures.ts';

test('export a model folder, overwrite it after confirming, and import it back', async ({ studio }) => {
  const { page } = studio;
  await studio.ensureIdle();
  await studio.useFixtureModel();
  const target = path.join(await studio.tempDir(), 'exported-model');

  const exportButton = page.getByRole('button', { name: 'Export model' });
  await studio.chooseFolder(target, async () => {
    await exportButton.click();
    if (studio.shell === 'browser') await studio.screenshot('export-dialog');
  });
  await expect(page.getByRole('status').filter({ hasText: `Model exported to ${target}` })).toBeVisible({ timeout: 30_000 });

  const files = (await readdir(target)).sort();
  expect(files).toEqual(['metadata.json', 'model.json', 'weights.bin']);
  const modelJson = JSON.parse(await readFile(path.join(target, 'model.json'), 'utf8'));
  expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
  const metadata = JSON.parse(await readFile(path.join(target, 'metadata.json'), 'utf8'));
  expect(metadata.preset).toBe('fast');
  expect((await readFile(path.join(target, 'weights.bin'))).length).toBeGreaterThan(1_000_000);

  // The folder is no longer empty: exporting again asks first.
  await writeFile(path.join(target, 'notes.txt'), 'mine');
  await studio.chooseFolder(target, () => exportButton.click());
  const confirm = page.getByRole('dialog', { name: 'Overwrite the folder?' });
  await expect(confirm).toBeVisible();
  await studio.screenshot('export-confirm');
  await confirm.getByRole('button', { name: 'Overwrite' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Model exported to ${target}` }).last()).toBeVisible();
  expect(await readdir(target)).toEqual(expect.arrayContaining(['metadata.json', 'model.json', 'weights.bin']));

  // Import it back from the evaluation view.
  await page.getByRole('tab', { name: 'Evaluate' }).click();
  await studio.chooseFolder(target, () => page.getByRole('button', { name: 'Import model folder…' }).click());
  await expect(page.getByRole('status').filter({ hasText: `Imported the model from ${target}` })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText('(imported)')).toBeVisible();
  expect(await studio.call('getCurrentModel')).toMatchObject({ origin: 'imported', dir: target, preset: 'fast' });

  // A folder without a model is refused with a message naming it.
  const empty = await studio.tempDir();
  await studio.chooseFolder(empty, () => page.getByRole('button', { name: 'Import model folder…' }).click());
  await expect(page.getByRole('alert').filter({ hasText: 'Could not import the model' })).toBeVisible();
  expect((await studio.call('getCurrentModel'))?.dir).toBe(target);
  await studio.screenshot('import-refused');
});
