/**
 * What a figure measured on a small picture set can and cannot tell, in plain words: with 30
 * pictures one picture moves the accuracy by 3.3 points, and a digit with 3 pictures can only
 * score 0, 33, 67 or 100%.
 */
import { pointsPerPicture } from '../../../main/ml/heldOut.ts';

/** Below this many pictures of a digit, figures on the set are a rough sign, not a measurement. */
export const FEW_PER_DIGIT = 10;

/** Lists digits as "2", "2 and 5", "2, 5 and 7". */
function digitList(digits: readonly number[]): string {
  return digits.length === 1 ? String(digits[0]) : `${digits.slice(0, -1).join(', ')} and ${digits[digits.length - 1]}`;
}

/**
 * The caveat for figures measured on `perDigit[d]` pictures of each digit d, or null when every
 * digit has FEW_PER_DIGIT pictures or more (or there are none at all).
 */
export function smallSetCaveat(perDigit: readonly number[]): string[] | null {
  const count = perDigit.reduce((sum, n) => sum + n, 0);
  const missing = perDigit.flatMap((n, digit) => (n === 0 ? [digit] : []));
  const few = perDigit.flatMap((n, digit) => (n > 0 && n < FEW_PER_DIGIT ? [digit] : []));
  if (count === 0 || (missing.length === 0 && few.length === 0)) return null;
  const lines = [
    `These figures rest on only ${count} ${count === 1 ? 'picture' : 'pictures'}: each picture read right or wrong moves the accuracy by ${pointsPerPicture(count)} points.`,
  ];
  if (few.length > 0) {
    const fewest = Math.min(...few.map((digit) => perDigit[digit]));
    const steps = fewest <= 4 ? ` (with ${fewest}, a digit's share read right can only be ${Array.from({ length: fewest + 1 }, (_, k) => `${Math.round((100 * k) / fewest)}%`).join(', ')})` : '';
    lines.push(`The per-digit figures for ${digitList(few)} rest on fewer than ${FEW_PER_DIGIT} pictures each${steps}.`);
  }
  if (missing.length > 0) {
    lines.push(`There are no pictures of ${digitList(missing)}: the figures say nothing about ${missing.length === 1 ? 'that digit' : 'those digits'}.`);
  }
  lines.push(`Good for finding the pictures the model misreads; to compare models, add more (${FEW_PER_DIGIT} or more of each digit).`);
  return lines;
}
