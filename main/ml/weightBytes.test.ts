import { describe, expect, it } from 'vitest';
import { weightDataBytes } from './weightBytes.ts';

describe('weightDataBytes', () => {
  it('multiplies each shape by the bytes of its stored dtype', () => {
    expect(weightDataBytes([{ shape: [784, 500], dtype: 'float32' }, { shape: [500] }])).toBe((784 * 500 + 500) * 4);
    expect(weightDataBytes([{ shape: [], dtype: 'int32' }, { shape: [3, 2], dtype: 'bool' }])).toBe(4 + 6);
    expect(weightDataBytes([{ shape: [10, 10], dtype: 'float32', quantization: { dtype: 'uint8' } }])).toBe(100);
  });

  it('is NaN for a dtype it does not know, so a size comparison fails', () => {
    expect(weightDataBytes([{ shape: [2], dtype: 'string' }])).toBeNaN();
  });
});
