/**
 * axe-core on every area of the window, in the light and the dark theme: no critical or serious
 * violations. axe runs inside the page (its `source` evaluated there; @axe-core/playwright needs
 * Node 22). Each area is checked in a state that shows its content: the train panel with a run's
 * results, the evaluation with its matrix and a cell's gallery, the prediction pane with result
 * and error cards.
 */
import { axeFindings } from './axe.ts';
import { test, expect, type Studio } from './fixtures.ts';
import { brokenFiles, mnistPictures } from './pictures.ts';

async function showEveryArea(studio: Studio): Promise<void> {
  const { page } = studio;
  await studio.ensureIdle();
  // Train: a tiny finished run (its "Finished" state, curves and result).
  await studio.call('startTraining', { preset: 'fast', steps: 30, limit: 2000 });
  await expect(page.getByTestId('training-state')).toHaveText('Finished', { timeout: 60_000 });
  await studio.useFixtureModel();
  // Predict: results and error cards.
  await page.getByRole('tab', { name: 'Predict' }).click();
  const pictures = [...(await mnistPictures()).slice(0, 3), ...brokenFiles()];
  await page.locator('#panel-predict').getByTestId('file-input').setInputFiles(pictures.map((p) => ({ name: p.name, mimeType: p.mimeType, buffer: p.bytes })));
  await expect(page.locator('#panel-predict').getByTestId('prediction-error')).toHaveCount(2, { timeout: 60_000 });
  // Evaluate: the matrix and a cell's gallery.
  await page.getByRole('tab', { name: 'Evaluate' }).click();
  const evaluate = page.locator('#panel-evaluate');
  await evaluate.getByRole('button', { name: 'Evaluate', exact: true }).click();
  await expect(evaluate.getByTestId('test-accuracy')).toBeVisible({ timeout: 60_000 });
  await evaluate.getByRole('button', { name: 'True 3, predicted 3: ', exact: false }).click();
  await expect(evaluate.getByTestId('test-image').first()).toBeVisible({ timeout: 30_000 });
}

for (const theme of ['light', 'dark'] as const) {
  test(`axe finds no critical or serious problems on any area (${theme} theme)`, async ({ studio }) => {
    const { page } = studio;
    await page.emulateMedia({ colorScheme: theme });
    await showEveryArea(studio);
    const findings: string[] = [];
    for (const area of ['Train', 'Evaluate', 'Predict']) {
      await page.getByRole('tab', { name: area }).click();
      await expect(page.getByRole('tab', { name: area })).toHaveAttribute('aria-selected', 'true');
      findings.push(...(await axeFindings(page)).map((line) => `${area}: ${line}`));
      await studio.screenshot(`axe-${theme}-${area.toLowerCase()}`);
    }
    expect(findings, findings.join('\n')).toEqual([]);
  });
}
