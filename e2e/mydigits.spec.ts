/**
 * "Teach it your own digits" end to end: a European writer draws three of each digit in teach
 * mode (slashed 0, a 1 with a long flag, crossed 7, closed 4, hooked 9), fine-tunes the current
 * model on MNIST + those drawings from the Train panel, and their flagged 1, read as another
 * digit before, is read as a 1 after.
 */
import type { Page } from '@playwright/test';
import { test, expect } from './fixtures.ts';
import { axeFindings } from './axe.ts';

type Point = [number, number];

/** The writer's digits, as pen strokes in fractions of the pad (measured: the small fixture model reads FLAGGED_ONE as a 9). */
const FLAGGED_ONE: Point[][] = [[[0.25, 0.45], [0.56, 0.15], [0.56, 0.85]]];
const HAND: Point[][][] = [
  [[[0.5, 0.15], [0.3, 0.3], [0.28, 0.6], [0.5, 0.85], [0.7, 0.6], [0.7, 0.3], [0.5, 0.15]], [[0.25, 0.8], [0.75, 0.2]]],
  FLAGGED_ONE,
  [[[0.3, 0.3], [0.5, 0.17], [0.68, 0.3], [0.3, 0.82], [0.72, 0.82]]],
  [[[0.3, 0.2], [0.68, 0.2], [0.48, 0.45], [0.68, 0.6], [0.6, 0.8], [0.3, 0.82]]],
  [[[0.6, 0.85], [0.6, 0.15], [0.22, 0.6], [0.78, 0.6]]],
  [[[0.7, 0.18], [0.35, 0.18], [0.32, 0.45], [0.6, 0.45], [0.7, 0.62], [0.6, 0.82], [0.3, 0.8]]],
  [[[0.62, 0.15], [0.35, 0.45], [0.32, 0.7], [0.5, 0.85], [0.68, 0.7], [0.55, 0.52], [0.35, 0.6]]],
  [[[0.25, 0.25], [0.25, 0.18], [0.75, 0.18], [0.4, 0.85]], [[0.3, 0.52], [0.7, 0.52]]],
  [[[0.5, 0.5], [0.32, 0.32], [0.5, 0.15], [0.68, 0.32], [0.5, 0.5], [0.3, 0.68], [0.5, 0.85], [0.7, 0.68], [0.5, 0.5]]],
  [[[0.7, 0.3], [0.5, 0.15], [0.3, 0.3], [0.5, 0.45], [0.7, 0.3], [0.65, 0.7], [0.45, 0.85], [0.3, 0.78]]],
];
const PER_DIGIT = 3;

/** Draws strokes on the pad inside `panelId`, shifted by (dx, dy) and scaled by `scale` about the centre. */
async function draw(page: Page, panelId: string, strokes: Point[][], dx = 0, dy = 0, scale = 1): Promise<void> {
  const box = (await page.locator(`${panelId} [data-testid="drawing-canvas"]`).boundingBox())!;
  const at = ([fx, fy]: Point) => [box.x + box.width * (0.5 + (fx - 0.5) * scale + dx), box.y + box.height * (0.5 + (fy - 0.5) * scale + dy)] as const;
  for (const points of strokes) {
    await page.mouse.move(...at(points[0]));
    await page.mouse.down();
    for (let p = 1; p < points.length; p++) {
      const [x0, y0] = points[p - 1];
      const [x1, y1] = points[p];
      for (let i = 1; i <= 6; i++) await page.mouse.move(...at([x0 + ((x1 - x0) * i) / 6, y0 + ((y1 - y0) * i) / 6]));
    }
    await page.mouse.up();
  }
}

/** What the Predict pad reads for the flagged 1, live (no result card kept). */
async function readFlaggedOne(page: Page): Promise<string> {
  await page.getByRole('tab', { name: 'Predict' }).click();
  const panel = page.locator('#panel-predict');
  const clear = panel.getByRole('button', { name: 'Clear drawing' });
  if (await clear.isEnabled()) await clear.click();
  await draw(page, '#panel-predict', FLAGGED_ONE);
  const live = panel.getByTestId('live-prediction');
  await expect(live).toContainText(/Looks like\s*\d/, { timeout: 30_000 });
  const digit = (await live.locator('.live-digit').textContent())!.trim();
  await clear.click();
  return digit;
}

test('teach mode, fine-tune, and a digit read wrong before is read right after', async ({ studio }) => {
  test.setTimeout(300_000);
  const { page } = studio;
  await studio.ensureIdle();
  await studio.useFixtureModel();
  // A clean collection: the workspace is shared by the specs.
  for (const item of (await studio.call('listMyDigits')).items) await studio.call('removeMyDigit', { file: item.file });

  const before = await readFlaggedOne(page);
  expect(before).not.toBe('1');

  await page.getByRole('tab', { name: 'My digits' }).click();
  const panel = page.locator('#panel-mydigits');
  await panel.getByLabel('Drawings of each digit').fill(String(PER_DIGIT));
  await panel.getByRole('button', { name: 'Start teaching' }).click();
  for (let n = 0; n < 10 * PER_DIGIT; n++) {
    const digit = Number(await panel.getByTestId('teach-digit').textContent());
    const nth = n % PER_DIGIT;
    expect(digit).toBe(Math.floor(n / PER_DIGIT));
    await draw(page, '#panel-mydigits', HAND[digit], (nth - 1) * 0.04, (1 - nth) * 0.03, 1 - nth * 0.08);
    await panel.getByRole('button', { name: `Save as ${digit}` }).click();
    await expect(panel.getByTestId(`count-${digit}`)).toHaveText(String(nth + 1));
  }
  await expect(panel.getByRole('button', { name: 'Start teaching' })).toBeVisible();
  await expect(panel.getByTestId('my-digit')).toHaveCount(10 * PER_DIGIT);
  await studio.screenshot('my-digits-taught');

  // The collection is plain files in the labelled-folder layout.
  const summary = await studio.call('listMyDigits');
  expect(summary.perDigit).toEqual(new Array(10).fill(PER_DIGIT));
  expect(summary.items.every((item) => item.file.startsWith(`${item.label}/`))).toBe(true);

  // "How does the current model do on these?": the flagged 1s are among its mistakes.
  await panel.getByRole('button', { name: 'How does the current model do on these?' }).click();
  await expect(panel.getByTestId('my-digits-evaluation')).toContainText(/reads \d+(\.\d)?% of these 30 pictures right/);
  await expect(panel.locator('[data-testid="my-digit"][data-file^="1/"]').filter({ hasText: /read as/ }).first()).toBeVisible();

  // Fine-tune the current model on MNIST + my digits from the Train panel.
  await page.getByRole('tab', { name: 'Train' }).click();
  const train = page.locator('#panel-train');
  await train.getByLabel('Start from').selectOption('current');
  await train.getByLabel('Data', { exact: true }).selectOption('mnist+mine');
  await expect(train.getByLabel('Batch size')).toHaveValue('100');
  // A fifth of each digit's 3 drawings rounds to 1: 10 pictures kept aside, and the form says what that can tell.
  await expect(train.getByLabel('My digits kept aside to check')).toHaveValue('0.2');
  await expect(train.getByTestId('holdout-count')).toContainText('Of the 30 pictures in "My digits", 10 kept aside and 20 to train on.');
  await expect(train.getByTestId('holdout-count')).toContainText('each one moves the held-out accuracy by 10 points');
  await train.getByRole('button', { name: /^Start/ }).click();
  const summaryLine = train.getByTestId('before-after');
  await expect(summaryLine).toBeVisible({ timeout: 240_000 });
  await expect(summaryLine).toContainText(/My digits \(held out, 10 pictures\): [\d.]+% → [\d.]+%/);
  await expect(train.getByTestId('before-after-caveat')).toContainText('Only 10 pictures are held out');
  // The holdout choice, the held-out caveat and the two-line chart pass axe (critical and serious).
  expect(await axeFindings(page)).toEqual([]);
  await expect(summaryLine).toContainText(/MNIST test: [\d.]+% → [\d.]+%/);
  await expect(page.getByRole('img', { name: /^Validation accuracy: [1-9]/ })).toBeVisible();
  await studio.screenshot('my-digits-fine-tuned');

  // The fine-tuned model is offered beside the current one, never swapped in silently: take it.
  await page.getByRole('button', { name: /^Use the new model \(\d+\.\d\d%\)$/ }).click();
  await expect(page.getByRole('button', { name: /^Use the new model/ })).toHaveCount(0);
  expect(await readFlaggedOne(page)).toBe('1');

  // From the Predict pane, a card's picture goes into the collection: "this is a 1".
  const predict = page.locator('#panel-predict');
  await draw(page, '#panel-predict', FLAGGED_ONE);
  await predict.getByRole('button', { name: 'Add to results' }).click();
  const card = predict.getByTestId('prediction-ok').first();
  await card.getByRole('combobox', { name: /^This is a/ }).selectOption('1');
  await expect.poll(async () => (await studio.call('listMyDigits')).perDigit[1]).toBe(PER_DIGIT + 1);
});
