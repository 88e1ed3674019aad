/**
 * The held-out part of the user's labelled pictures: how many of each digit are kept aside
 * (never trained on) and what a figure measured on them can tell. Import-free on purpose: the
 * CLI (`digits train --images --holdout`), the training worker and the renderer's train panel
 * use the same rule and the same words.
 */

/** The default share of each digit's pictures held out of training. */
export const DEFAULT_HOLDOUT = 0.2;

/** The shares the train panel offers (0: no check on my digits). */
export const HOLDOUT_CHOICES = [0, 0.1, 0.2, 0.3, 0.5] as const;

/** Below this many held-out pictures the figure comes with a warning: one picture moves it by 3+ points. */
export const FEW_HELD_OUT = 30;

/**
 * Of a digit's `count` pictures, how many a `fraction` holds out: round(count x fraction), but
 * at least one stays for training. The stratified split (splitHoldout) applies it to each digit.
 */
export function heldOutOfDigit(count: number, fraction: number): number {
  return Math.max(0, Math.min(count - 1, Math.round(count * fraction)));
}

/** Held-out pictures in all, for a collection with `perDigit` pictures of each digit. */
export function heldOutCount(perDigit: readonly number[], fraction: number): number {
  return perDigit.reduce((sum, count) => sum + heldOutOfDigit(count, fraction), 0);
}

/**
 * Points one picture is worth in an accuracy measured on `count` pictures, as shown: one
 * decimal below 10 points ("3.3"), whole points from 10 ("10", "100"). The one rule for every
 * small-set warning (held-out pictures here, Evaluate on My digits in the window).
 */
export function pointsPerPicture(count: number): string {
  const points = 100 / count;
  return points >= 10 ? String(Math.round(points)) : points.toFixed(1);
}

/** What the held-out figure can tell, in one sentence (null when it is big enough to trust). */
export function heldOutCaveat(count: number): string | null {
  if (count === 0) return 'No pictures are held out, so there is no accuracy on unseen pictures of yours (only MNIST).';
  if (count < FEW_HELD_OUT) {
    return `Only ${count} ${count === 1 ? 'picture is' : 'pictures are'} held out: each one moves the held-out accuracy by ${pointsPerPicture(count)} points, so treat it as a rough sign, not a measurement.`;
  }
  return null;
}
