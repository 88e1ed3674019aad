/**
 * The train panel: a small seed run started from the form, its curves and step counter growing,
 * pause and resume, stop, resume from the saved run's checkpoint, and the finished run's model.
 */
import type { Locator, Page } from '@playwright/test';
import { test, expect } from './fixtures.ts';

/** Small enough to finish in about half a minute on the WASM backend, long enough to stop midway. */
const RUN = { preset: 'seed', epochs: '8', limit: '10000' };

function number(text: string | null): number {
  const match = /[\d,]+/.exec(text ?? '');
  return match ? Number(match[0].replace(/,/g, '')) : NaN;
}

async function stepOf(page: Page): Promise<number> {
  return number(await page.getByTestId('stat-step').textContent());
}

async function pointsOf(chart: Locator): Promise<number> {
  const label = await chart.getAttribute('aria-label');
  return number(/: ([\d,]+) points/.exec(label ?? '')?.[1] ?? null);
}

test('train a small run: curves grow, pause, stop, resume from the checkpoint, finish', async ({ studio }) => {
  // Two legs of training plus two model folders (a stopped run writes one too): about 100 s alone
  // on these shared machines, several times that when other work runs beside it (load 19 on 2 cores seen).
  test.setTimeout(360_000);
  const { page } = studio;
  await studio.ensureIdle();
  await page.getByRole('tab', { name: 'Train' }).click();

  const form = page.getByRole('form', { name: 'New training run' });
  await form.getByLabel('Model').selectOption(RUN.preset);
  await form.getByLabel('Length unit').selectOption('epochs');
  await form.getByLabel('Length', { exact: true }).fill(RUN.epochs);
  await form.getByLabel('Limit training images').fill(RUN.limit);
  await form.getByRole('button', { name: 'Start training' }).click();

  const state = page.getByTestId('training-state');
  await expect(state).toHaveText('Training');
  const loss = page.getByRole('img', { name: /^Training loss: / });

  // The curves and the step counter grow while it runs.
  await expect.poll(() => pointsOf(loss)).toBeGreaterThan(0);
  const firstPoints = await pointsOf(loss);
  const firstStep = await stepOf(page);
  await expect.poll(() => stepOf(page)).toBeGreaterThan(firstStep);
  await expect.poll(() => pointsOf(loss)).toBeGreaterThan(firstPoints);
  await expect(page.getByRole('progressbar', { name: 'Training progress' })).not.toHaveAttribute('aria-valuenow', '0');
  await studio.screenshot('train-running');

  // Pause holds the step counter still; resume continues.
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(state).toHaveText('Paused');
  // Progress already on its way (the step in flight, throttled updates) may still land; then nothing moves.
  await page.waitForTimeout(750);
  const pausedAt = await stepOf(page);
  await page.waitForTimeout(1500);
  expect(await stepOf(page)).toBe(pausedAt);
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(state).toHaveText('Training');
  await expect.poll(() => stepOf(page)).toBeGreaterThan(pausedAt);

  // Stop: the run is saved and can be resumed from its checkpoint.
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(state).toHaveText('Stopped', { timeout: 30_000 });
  const stoppedAt = await stepOf(page);
  expect(stoppedAt).toBeGreaterThan(0);
  const runs = page.getByRole('region', { name: 'Saved runs' });
  // Other specs may have left resumable runs of their own: this one is the run just stopped.
  const { runId } = await studio.call('getTrainingSnapshot');
  const resume = runs.getByRole('button', { name: `Resume run ${runId}`, exact: true });
  await expect(resume).toHaveCount(1);
  await studio.screenshot('train-stopped');

  await resume.click();
  await expect(state).toHaveText('Training');
  // Resumed, not restarted: the counter never goes back below the checkpoint.
  await expect.poll(() => stepOf(page)).toBeGreaterThan(stoppedAt);
  const total = number((await page.getByTestId('stat-step').textContent())?.split('/')[1] ?? null);
  expect(total).toBe(8 * (10000 / 200));

  await expect(state).toHaveText('Finished', { timeout: 180_000 });
  expect(await stepOf(page)).toBe(total);
  await expect(page.getByRole('status').filter({ hasText: 'Run finished' })).toBeVisible();
  await expect(page.getByRole('img', { name: /^Validation accuracy: [1-9]/ })).toBeVisible();
  // With a model already current (another spec's, or this run's own stopped model), the new one is offered.
  const offer = page.getByRole('region', { name: 'A new model is ready' });
  if (await offer.isVisible()) await offer.getByRole('button', { name: /^Use the new model/ }).click();
  await expect(offer).toBeHidden();
  const model = await studio.call('getCurrentModel');
  expect(model).toMatchObject({ origin: 'trained', preset: 'seed' });
  await studio.screenshot('train-finished');
});
