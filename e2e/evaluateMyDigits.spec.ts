/**
 * Evaluate pointed at "My digits": the user's labelled pictures (here MNIST test digits as a phone
 * would see them, one of them filed under the wrong digit, and a torn file), measured from the
 * Evaluate view; a misread picture links back to its card in My digits, where it is relabelled.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { axeFindings } from './axe.ts';
import { confusionCounts } from './confusion.ts';
import { test, expect } from './fixtures.ts';
import { brokenFiles, mnistPictures } from './pictures.ts';

/** axe's critical and serious findings in both themes. */
async function axeBothThemes(page: Page): Promise<string[]> {
  const findings: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    // Buttons fade to the new theme's colours (a 0.12 s transition): check them once there.
    await page.evaluate(async () => {
      const { document } = globalThis as unknown as { document: { getAnimations(): { finished: Promise<unknown> }[] } };
      await Promise.all(document.getAnimations().map((animation) => animation.finished));
    });
    findings.push(...(await axeFindings(page)).map((line) => `${colorScheme}: ${line}`));
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return findings;
}


test('evaluate on My digits, open a mistake and land on that picture in My digits', async ({ studio }) => {
  const { page } = studio;
  await studio.ensureIdle();
  await studio.useFixtureModel();
  // A clean collection (the workspace is shared by the specs), then a labelled folder on disk.
  const { dir, items } = await studio.call('listMyDigits');
  for (const item of items) await studio.call('removeMyDigit', { file: item.file });
  const pictures = await mnistPictures();
  for (const picture of pictures) {
    await mkdir(path.join(dir, String(picture.label)), { recursive: true });
    await writeFile(path.join(dir, String(picture.label), picture.name), picture.bytes);
  }
  // The MNIST 3 filed again, under 8: whatever the model reads, one of the two is a mistake.
  const three = pictures.find((p) => p.label === 3)!;
  await writeFile(path.join(dir, '8', 'filed-wrong.png'), three.bytes);
  await mkdir(path.join(dir, '4'), { recursive: true });
  await writeFile(path.join(dir, '4', 'torn.png'), brokenFiles()[0].bytes);
  try {
    await page.reload();
    await page.getByRole('tab', { name: 'Evaluate' }).click();
    const panel = page.locator('#panel-evaluate');
    await panel.getByRole('radio', { name: 'My digits (11 pictures)' }).check();
    await expect(panel.getByRole('heading', { level: 2 })).toHaveText('Evaluate on My digits');
    await panel.getByRole('button', { name: 'Evaluate', exact: true }).click();

    await expect(panel.getByTestId('my-digits-accuracy')).toBeVisible({ timeout: 60_000 });
    await expect(panel.getByTestId('test-accuracy')).toHaveCount(0);
    // 11 pictures: the caveat says what one picture is worth.
    await expect(panel.getByTestId('small-set-caveat')).toContainText('only 11 pictures: each picture read right or wrong moves the accuracy by 9.1 points');
    // The torn file is listed with its error, not counted.
    await expect(panel.getByRole('list', { name: 'Files that cannot be read' })).toContainText('4/torn.png');

    const matrix = panel.getByRole('table', { name: /^Confusion matrix/ });
    const counts = await confusionCounts(matrix);
    expect(counts.reduce((sum, cell) => sum + cell.count, 0)).toBe(11);
    const mistakes = counts.filter((cell) => cell.truth !== cell.predicted && cell.count > 0);
    const accuracy = Number.parseFloat((await panel.getByTestId('my-digits-accuracy').textContent()) ?? '');
    expect(accuracy).toBeCloseTo((100 * (11 - mistakes.reduce((sum, cell) => sum + cell.count, 0))) / 11, 1);

    // The 3 and the "8" are the same picture: one of them is misread. Open its cell.
    const wrongOne = mistakes.find((cell) => cell.truth === 8) ?? mistakes.find((cell) => cell.truth === 3);
    expect(wrongOne, 'the 3 filed as an 8 is read wrong under one of the two labels').toBeTruthy();
    await matrix.getByRole('button', { name: `True ${wrongOne!.truth}, predicted ${wrongOne!.predicted}: `, exact: false }).click();
    const cell = panel.getByRole('list', { name: 'My digits in the selected cell' });
    const card = cell.getByTestId('picture-reading').first();
    await expect(card).toContainText(`Filed as ${wrongOne!.truth}`);
    await expect(card).toContainText(new RegExp(`Read as ${wrongOne!.predicted} \\(\\d+% sure\\)`));
    const file = (await card.getAttribute('data-file'))!;
    expect(file.startsWith(`${wrongOne!.truth}/`)).toBe(true);
    await expect(card.getByRole('img', { name: `The picture as filed: ${file}` })).toBeVisible();
    await expect(card.getByRole('img', { name: `What the model sees for ${file}` })).toBeVisible();
    // The same picture is in the list of misread pictures.
    await expect(panel.getByRole('list', { name: 'My digits it misread' }).locator(`[data-file="${file}"]`)).toHaveCount(1);
    expect(await axeBothThemes(page), 'axe: Evaluate on My digits').toEqual([]);
    await studio.screenshot('evaluate-my-digits');

    // "Show in My digits": the collection, at that picture, focused.
    await card.getByRole('button', { name: `Show in My digits: ${file}` }).click();
    await expect(page.getByRole('tab', { name: 'My digits' })).toHaveAttribute('aria-selected', 'true');
    const mine = page.locator('#panel-mydigits');
    const shown = mine.locator(`[data-testid="my-digit"][data-file="${file}"]`);
    await expect(shown).toBeFocused();
    await expect(shown).toHaveAttribute('aria-current', 'true');
    await expect(shown).toBeInViewport();
    expect(await axeBothThemes(page), 'axe: My digits with a picture picked in Evaluate').toEqual([]);
    await studio.screenshot('my-digits-picked');

    // There it is relabelled: the counts follow, and the old results are gone from Evaluate.
    const other = wrongOne!.truth === 8 ? 3 : 8;
    const before = Number(await mine.getByTestId(`count-${other}`).textContent());
    await shown.getByRole('combobox', { name: `Digit of ${file}` }).selectOption(String(other));
    await expect(mine.getByTestId(`count-${other}`)).toHaveText(String(before + 1));
    await page.getByRole('tab', { name: 'Evaluate' }).click();
    await expect(panel.getByTestId('my-digits-accuracy')).toHaveCount(0);
    await expect(panel.getByText(/Not evaluated on My digits yet/)).toBeVisible();
  } finally {
    for (const item of (await studio.call('listMyDigits')).items) await studio.call('removeMyDigit', { file: item.file });
    await rm(path.join(dir, '4', 'torn.png'), { force: true });
  }
});
