/** Reading the Evaluate view's confusion matrix the way a screen reader does: from its cells' names. */
import { expect, type Locator } from '@playwright/test';

const CELL = /^True (\d), predicted (\d): (\d+) (?:image|picture)s?$/;

export interface CellCount {
  truth: number;
  predicted: number;
  count: number;
}

/** The 100 cells of the matrix table `matrix`, each with its count. */
export async function confusionCounts(matrix: Locator): Promise<CellCount[]> {
  const cells = matrix.getByRole('button', { name: CELL });
  await expect(cells).toHaveCount(100);
  return (await cells.evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label') ?? ''))).map((label) => {
    const [, truth, predicted, count] = CELL.exec(label)!;
    return { truth: Number(truth), predicted: Number(predicted), count: Number(count) };
  });
}
