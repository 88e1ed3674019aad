import { describe, expect, it } from 'vitest';
import { smallSetCaveat } from './smallSet.ts';

describe('smallSetCaveat', () => {
  it('says how far one picture moves the accuracy, and what a digit with 3 pictures can score', () => {
    const lines = smallSetCaveat(new Array(10).fill(3))!;
    expect(lines[0]).toBe('These figures rest on only 30 pictures: each picture read right or wrong moves the accuracy by 3.3 points.');
    expect(lines[1]).toBe("The per-digit figures for 0, 1, 2, 3, 4, 5, 6, 7, 8 and 9 rest on fewer than 10 pictures each (with 3, a digit's share read right can only be 0%, 33%, 67%, 100%).");
    expect(lines.at(-1)).toMatch(/add more \(10 or more of each digit\)/);
  });

  it('names the digits with no pictures, and stays quiet once every digit has 10', () => {
    const perDigit = [12, 12, 0, 12, 12, 0, 12, 12, 12, 6];
    const lines = smallSetCaveat(perDigit)!;
    expect(lines).toContain('There are no pictures of 2 and 5: the figures say nothing about those digits.');
    expect(lines[1]).toBe('The per-digit figures for 9 rest on fewer than 10 pictures each.');
    expect(smallSetCaveat(new Array(10).fill(10))).toBeNull();
    expect(smallSetCaveat(new Array(10).fill(0))).toBeNull();
  });
});
