/**
 * Narrow windows: at 760 px, pressing Start brings the run's progress into view (it sits below the
 * form there) with the keyboard focus on it; at 480 px the confusion matrix fits the window.
 */
import { test, expect } from './fixtures.ts';

test('at 760 px, Start (by Enter in the form) shows the progress and keeps focus on it', async ({ studio }) => {
  const { page } = studio;
  await studio.ensureIdle();
  await page.setViewportSize({ width: 760, height: 800 });
  await page.getByRole('tab', { name: 'Train' }).click();
  const form = page.getByRole('form', { name: 'New training run' });
  await form.getByLabel('Model').selectOption('fast');
  await form.getByLabel('Length unit').selectOption('steps');
  await form.getByLabel('Length', { exact: true }).fill('40');
  await form.getByLabel('Limit training images').fill('2000');
  await form.getByLabel('Limit training images').press('Enter');
  const heading = page.getByRole('heading', { name: 'Training', exact: true });
  await expect(heading).toBeFocused();
  await expect(heading).toBeInViewport();
  await expect(page.getByTestId('training-state')).toBeInViewport();
  await studio.ensureIdle();
});

test('at 480 px the confusion matrix fits the window', async ({ studio }) => {
  const { page } = studio;
  await studio.ensureIdle();
  await studio.useFixtureModel();
  await page.setViewportSize({ width: 480, height: 900 });
  await page.getByRole('tab', { name: 'Evaluate' }).click();
  const panel = page.locator('#panel-evaluate');
  await panel.getByRole('button', { name: 'Evaluate', exact: true }).click();
  const matrix = panel.getByRole('table', { name: /^Confusion matrix/ });
  await expect(matrix).toBeVisible({ timeout: 60_000 });
  const box = (await matrix.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(480);
  // Nothing hidden sideways: the matrix's scroller has no overflow to scroll.
  const overflow = await matrix.evaluate((table) => {
    const scroller = (table as unknown as { parentElement: { scrollWidth: number; clientWidth: number } }).parentElement;
    return scroller.scrollWidth - scroller.clientWidth;
  });
  expect(overflow).toBeLessThanOrEqual(0);
  await studio.screenshot('evaluate-480');
});
