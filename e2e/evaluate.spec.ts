/** The evaluation view: test accuracy, the confusion matrix, and the images behind a cell. */
import { confusionCounts } from './confusion.ts';
import { test, expect } from './fixtures.ts';

/** The gallery's page size (renderer/src/state/evaluation.svelte.ts). */
const GALLERY_SIZE = 60;

test('evaluate the model and open a confusion-matrix cell', async ({ studio }) => {
  const { page } = studio;
  await studio.ensureIdle();
  await studio.useFixtureModel();
  await page.getByRole('tab', { name: 'Evaluate' }).click();
  const panel = page.locator('#panel-evaluate');
  await panel.getByRole('button', { name: 'Evaluate', exact: true }).click();

  const accuracy = panel.getByTestId('test-accuracy');
  await expect(accuracy).toBeVisible({ timeout: 60_000 });
  expect(Number.parseFloat((await accuracy.textContent()) ?? '')).toBeGreaterThan(85);

  const matrix = panel.getByRole('table', { name: /^Confusion matrix/ });
  const counts = await confusionCounts(matrix);
  expect(counts.reduce((sum, cell) => sum + cell.count, 0)).toBe(10_000);

  // The biggest mistake cell: its images appear, each labelled with the cell's true digit.
  const worst = counts.filter((cell) => cell.truth !== cell.predicted).sort((a, b) => b.count - a.count)[0];
  expect(worst.count).toBeGreaterThan(0);
  await matrix.getByRole('button', { name: `True ${worst.truth}, predicted ${worst.predicted}: `, exact: false }).click();
  const gallery = panel.getByRole('list', { name: 'Test images in the selected cell' });
  const images = gallery.getByTestId('test-image');
  await expect(images).toHaveCount(Math.min(worst.count, GALLERY_SIZE), { timeout: 30_000 });
  const first = images.first();
  await expect(first.getByRole('img', { name: new RegExp(`^Test image \\d+, a ${worst.truth}$`) })).toBeVisible();
  await expect(first.locator('.prediction')).toHaveText(String(worst.predicted));
  await studio.screenshot('evaluate-cell');

  // A diagonal cell shows right answers.
  await matrix.getByRole('button', { name: 'True 3, predicted 3: ', exact: false }).click();
  await expect(panel.getByRole('heading', { name: '3s recognised as 3' })).toBeVisible();
  await expect(images.first()).toBeVisible();
  await expect(images.first().locator('.prediction')).toHaveText('3');
});
