import { describe, expect, it } from 'vitest';
import { heldOutCaveat, heldOutCount, heldOutOfDigit } from './heldOut.ts';

describe('held-out pictures', () => {
  it('holds out round(n x share) of each digit but always leaves one to train on', () => {
    expect([0, 1, 2, 3, 5, 10].map((n) => heldOutOfDigit(n, 0.2))).toEqual([0, 0, 0, 1, 1, 2]);
    expect(heldOutOfDigit(4, 0.9)).toBe(3);
    expect(heldOutOfDigit(30, 0)).toBe(0);
    expect(heldOutCount([3, 3, 3, 3, 3, 3, 3, 3, 3, 3], 0.2)).toBe(10);
  });

  it('says what a small held-out figure can tell, and that none held out means no figure', () => {
    expect(heldOutCaveat(0)).toMatch(/No pictures are held out, so there is no accuracy on unseen pictures of yours/);
    expect(heldOutCaveat(1)).toBe('Only 1 picture is held out: each one moves the held-out accuracy by 100 points, so treat it as a rough sign, not a measurement.');
    expect(heldOutCaveat(12)).toMatch(/^Only 12 pictures are held out: each one moves the held-out accuracy by 8.3 points/);
    expect(heldOutCaveat(29)).toMatch(/by 3.4 points/);
    expect(heldOutCaveat(30)).toBeNull();
  });
});
