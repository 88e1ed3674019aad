/**
 * Export and import where the user is. The browser version downloads one .zip of the model folder
 * and uploads a folder's files or a zip; no server path is typed anywhere. The desktop app asks
 * with its native dialogs (stubbed here), and replaces a previous model folder only when told.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { test, expect } from './fixtures.ts';

const MODEL_FILES = ['metadata.json', 'model.json', 'weights.bin'];

test('browser: export downloads the model as one zip, and Import beside it uploads a zip or the files back', async ({ studio }, testInfo) => {
  testInfo.skip(studio.shell !== 'browser', 'the desktop app exports to a folder the user picks (next test)');
  const { page } = studio;
  await studio.ensureIdle();
  await studio.useFixtureModel();

  // Export: a dialog with a download button, no path field.
  await page.getByRole('button', { name: 'Export model' }).click();
  const exportDialog = page.getByRole('dialog', { name: 'Export the model' });
  await expect(exportDialog.getByRole('textbox')).toHaveCount(0);
  await studio.screenshot('export-dialog');
  const downloading = page.waitForEvent('download');
  await exportDialog.getByRole('button', { name: 'Download .zip' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^digit-model-fast-\d{4}-\d\d-\d\d\.zip$/);
  const zipPath = path.join(await studio.tempDir(), download.suggestedFilename());
  await download.saveAs(zipPath);
  await expect(page.getByRole('status').filter({ hasText: `Model downloaded as ${download.suggestedFilename()}` })).toBeVisible();
  await expect(exportDialog).toBeHidden();

  // Exactly the model folder's files, and they are the model.
  const unzipped = unzipSync(new Uint8Array(await readFile(zipPath)));
  expect(Object.keys(unzipped).sort()).toEqual(MODEL_FILES);
  const modelJson = JSON.parse(new TextDecoder().decode(unzipped['model.json']));
  expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);
  expect(JSON.parse(new TextDecoder().decode(unzipped['metadata.json'])).preset).toBe('fast');
  expect(unzipped['weights.bin'].length).toBeGreaterThan(1_000_000);

  // Import sits beside Export; a wrong file is refused inside the dialog, not as a toast.
  const importButton = page.getByRole('banner').getByRole('button', { name: 'Import model' });
  await importButton.click();
  const importDialog = page.getByRole('dialog', { name: 'Import a model' });
  const notes = path.join(await studio.tempDir(), 'notes.txt');
  await writeFile(notes, 'not a model');
  await importDialog.getByTestId('model-files-input').setInputFiles(notes);
  await expect(importDialog.getByRole('alert')).toContainText('no model.json among notes.txt');
  await expect(page.locator('.notices').getByRole('alert')).toHaveCount(0);
  await studio.screenshot('import-refused');

  // The downloaded zip goes back in as the current model.
  await importDialog.getByTestId('model-files-input').setInputFiles(zipPath);
  await expect(page.getByRole('status').filter({ hasText: `Imported the model from ${download.suggestedFilename()}` })).toBeVisible({ timeout: 30_000 });
  await expect(importDialog).toBeHidden();
  await expect(page.getByText('(imported)')).toBeVisible();
  const fromZip = await studio.call('getCurrentModel');
  expect(fromZip).toMatchObject({ origin: 'imported', preset: 'fast' });

  // So does the folder itself, picked as a folder.
  const folder = path.join(await studio.tempDir(), 'my-model');
  await mkdir(folder);
  for (const name of MODEL_FILES) await writeFile(path.join(folder, name), unzipped[name]);
  await importButton.click();
  await page.getByRole('dialog', { name: 'Import a model' }).getByTestId('model-folder-input').setInputFiles(folder);
  await expect(page.getByRole('status').filter({ hasText: 'Imported the model from my-model' })).toBeVisible({ timeout: 30_000 });
  const fromFolder = await studio.call('getCurrentModel');
  expect(fromFolder).toMatchObject({ origin: 'imported', preset: 'fast' });
  expect(fromFolder?.name).not.toBe(fromZip?.name);
});

test('desktop: export to the chosen folder, replace it only after the question, and import it back', async ({ studio }, testInfo) => {
  testInfo.skip(studio.shell !== 'electron', 'the browser version downloads and uploads instead (previous test)');
  const { page } = studio;
  await studio.ensureIdle();
  await studio.useFixtureModel();
  const target = path.join(await studio.tempDir(), 'exported-model');

  await studio.answerNativeDialogs(target);
  await page.getByRole('button', { name: 'Export model' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Model exported to ${target}` })).toBeVisible({ timeout: 30_000 });
  expect((await readdir(target)).sort()).toEqual(MODEL_FILES);

  // A previous model folder: "Cancel" keeps it as it is, "Replace" leaves exactly the model's files.
  await writeFile(path.join(target, 'model.json'), '{"old": true}');
  await studio.answerNativeDialogs(target, false);
  await page.getByRole('button', { name: 'Export model' }).click();
  await expect.poll(async () => readFile(path.join(target, 'model.json'), 'utf8')).toBe('{"old": true}');
  await studio.answerNativeDialogs(target, true);
  await page.getByRole('button', { name: 'Export model' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Model exported to ${target}` }).last()).toBeVisible();
  await expect.poll(async () => (await readdir(target)).sort()).toEqual(MODEL_FILES);
  expect(JSON.parse(await readFile(path.join(target, 'model.json'), 'utf8')).weightsManifest[0].paths).toEqual(['weights.bin']);

  // Import it back from the header.
  await studio.answerNativeDialogs(target);
  await page.getByRole('banner').getByRole('button', { name: 'Import model' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Imported the model from ${target}` })).toBeVisible({ timeout: 30_000 });
  expect(await studio.call('getCurrentModel')).toMatchObject({ origin: 'imported', dir: target, preset: 'fast' });

  // A folder without a model is refused in a dialog naming the problem.
  await studio.answerNativeDialogs(await studio.tempDir());
  await page.getByRole('banner').getByRole('button', { name: 'Import model' }).click();
  await expect(page.getByRole('dialog', { name: 'Could not import the model' })).toBeVisible();
  expect((await studio.call('getCurrentModel'))?.dir).toBe(target);
});
