/**
 * Models & runs: a stopped run leaves a model that predicts; a worse new model never replaces the
 * current one until the user switches; two runs compared show two curves per chart and a
 * settings diff.
 */
import type { Page } from '@playwright/test';
import { test, expect, type Studio } from './fixtures.ts';
import type { PageGlobals } from './pageGlobals.ts';
import { mnistPictures } from './pictures.ts';

const offerCard = (page: Page) => page.getByRole('region', { name: 'A new model is ready' });

/** Starts a run through the app's API and waits until it has ended (finished or stopped). */
async function trainQuickly(studio: Studio, request: Parameters<Studio['call']>[1] & object): Promise<string> {
  const { runId } = await studio.call('startTraining', request as never);
  await expect.poll(async () => (await studio.call('getTrainingSnapshot')).state, { timeout: 90_000 }).toMatch(/^(finished|stopped)$/);
  return runId;
}

async function dropPictures(page: Page): Promise<void> {
  const files = (await mnistPictures()).slice(0, 4).map((p) => ({ name: p.name, type: p.mimeType, base64: p.bytes.toString('base64') }));
  await page.evaluate((list) => {
    const g = globalThis as unknown as PageGlobals;
    const transfer = new g.DataTransfer();
    for (const file of list) transfer.items.add(new g.File([Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0))], file.name, { type: file.type }));
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    for (const type of ['dragenter', 'dragover', 'drop']) g.document.body.dispatchEvent(new g.DragEvent(type, init));
  }, files);
}

test('a run stopped early leaves a model that can be used to predict', async ({ studio }) => {
  const { page } = studio;
  await studio.ensureIdle();
  await page.getByRole('tab', { name: 'Train' }).click();
  const form = page.getByRole('form', { name: 'New training run' });
  await form.getByLabel('Model').selectOption('fast');
  await form.getByLabel('Length unit').selectOption('epochs');
  await form.getByLabel('Length', { exact: true }).fill('30');
  await form.getByLabel('Limit training images').fill('8000');
  await form.getByRole('button', { name: 'Start training' }).click();
  const state = page.getByTestId('training-state');
  await expect(state).toHaveText('Training');
  // Stop once a couple of epochs are done: far from the 600 steps asked for.
  await expect(page.getByRole('img', { name: /^Validation accuracy: ([2-9]|\d{2,}) points/ })).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(state).toHaveText('Stopped', { timeout: 30_000 });
  const { runId } = await studio.call('getTrainingSnapshot');

  // Its model is current (no model before) or offered (another was current): either way usable now.
  const offer = offerCard(page);
  if (await offer.isVisible()) await offer.getByRole('button', { name: /^Use the new model/ }).click();
  await expect.poll(async () => (await studio.call('getCurrentModel'))?.runId).toBe(runId);

  await page.getByRole('tab', { name: 'Models & runs' }).click();
  const row = page.getByRole('table', { name: 'Runs' }).locator(`tr[data-run="${runId}"]`);
  await expect(row).toContainText('Stopped');
  await expect(row).toContainText('Current model');
  await expect(row.getByRole('button', { name: /^Resume / })).toBeVisible();
  await studio.screenshot('runs-stopped');

  await dropPictures(page);
  const ok = page.locator('#panel-predict').getByTestId('prediction-ok');
  await expect(ok).toHaveCount(4, { timeout: 60_000 });
  // A few hundred steps of the fast preset read most MNIST digits.
  let right = 0;
  for (const picture of (await mnistPictures()).slice(0, 4)) {
    const card = ok.filter({ has: page.getByText(picture.name, { exact: true }) });
    if (Number(await card.getByLabel('Predicted digit').textContent()) === picture.label) right++;
  }
  expect(right).toBeGreaterThanOrEqual(3);
});

test('a worse new model is offered, never swapped in: the current one stays until the user switches', async ({ studio }) => {
  const { page } = studio;
  await studio.ensureIdle();
  await studio.useFixtureModel();
  const before = await studio.call('getCurrentModel');

  // Two steps on 200 images: far worse than the fixture model (about 93%).
  const runId = await trainQuickly(studio, { preset: 'fast', steps: 2, limit: 200 });
  const offer = offerCard(page);
  await expect(offer).toBeVisible();
  await expect(offer).toContainText('Your current model is better on the test set');
  await expect(offer.getByRole('button', { name: /^Use the new model \(\d+\.\d\d%\)$/ })).toBeVisible();
  expect(await studio.call('getCurrentModel')).toEqual(before);
  if (studio.shell === 'browser') {
    // The page is told the uploaded model's name, never the server's folder for it.
    expect(before).not.toHaveProperty('dir');
    await expect(offer).toContainText(`imported from ${before!.name}`);
    await expect(offer).not.toContainText('uploaded-models/');
  }
  // The Train panel's next steps act on the run's model: the choice first, no "Evaluate it" of another model.
  await page.getByRole('tab', { name: 'Train' }).click();
  const next = page.getByTestId('next-steps');
  await expect(next.getByRole('button', { name: 'Use the new model' })).toBeVisible();
  await expect(next.getByRole('button', { name: 'Evaluate it' })).toHaveCount(0);
  await studio.screenshot('runs-offer');

  await offer.getByRole('button', { name: /^Keep the current model/ }).click();
  await expect(offer).toBeHidden();
  expect(await studio.call('getCurrentModel')).toEqual(before);
  await expect(next.getByRole('button', { name: "Use this run's model" })).toBeVisible();
  await expect(next.getByRole('button', { name: 'Evaluate it' })).toHaveCount(0);

  // The user switches on purpose, from the list.
  await page.getByRole('tab', { name: 'Models & runs' }).click();
  const row = page.getByRole('table', { name: 'Runs' }).locator(`tr[data-run="${runId}"]`);
  await expect(row).toContainText('Finished');
  await row.getByRole('button', { name: /^Use the model of / }).click();
  await expect(row).toContainText('Current model');
  expect((await studio.call('getCurrentModel'))?.runId).toBe(runId);
  // ...and back, so other specs find the fixture model.
  await studio.useFixtureModel();
});

test('compare two runs: two curves per chart and the settings side by side with the differences', async ({ studio }) => {
  const { page } = studio;
  await studio.ensureIdle();
  const first = await trainQuickly(studio, { preset: 'fast', epochs: 3, limit: 1200, learningRate: 0.008 });
  const second = await trainQuickly(studio, { preset: 'fast', epochs: 3, limit: 1200, learningRate: 0.002 });
  await studio.call('dismissModelOffer');
  await studio.call('labelRun', { runId: second, name: 'Slow learner', note: 'lr 0.002' });

  await page.reload();
  await page.getByRole('tab', { name: 'Models & runs' }).click();
  const table = page.getByRole('table', { name: 'Runs' });
  await page.getByRole('searchbox', { name: 'Search' }).fill('slow');
  await expect(table.locator('tbody tr')).toHaveCount(1);
  await expect(table.locator(`tr[data-run="${second}"]`)).toContainText('lr 0.002');
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await table.getByRole('checkbox', { name: `Compare ${first}` }).check();
  await table.getByRole('checkbox', { name: 'Compare Slow learner' }).check();

  const compare = page.getByRole('region', { name: 'Comparing 2 runs' });
  await expect(compare.getByRole('img', { name: /^Training loss: [1-9][\d,]* points, 2 curves;/ })).toBeVisible();
  await expect(compare.getByRole('img', { name: /^Validation accuracy: [1-9][\d,]* points, 2 curves;/ })).toBeVisible();
  const settings = compare.getByRole('table', { name: 'Settings side by side' });
  await expect(settings.locator('tr', { hasText: 'Learning rate' })).toHaveAttribute('data-differs', 'true');
  await expect(settings.locator('tr', { hasText: 'Learning rate' })).toContainText('0.008');
  await expect(settings.locator('tr', { hasText: 'Learning rate' })).toContainText('0.002');
  await expect(settings.locator('tr', { hasText: 'Batch size' })).toHaveAttribute('data-differs', 'false');
  await compare.getByLabel('Align by').selectOption('time');
  await expect(compare.getByRole('img', { name: /^Training loss: [1-9][\d,]* points, 2 curves;/ })).toBeVisible();
  await studio.screenshot('runs-compare');
});
