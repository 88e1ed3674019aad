import { describe, expect, it } from 'vitest';
import { SpeedMemory } from './speedMemory.ts';

function memoryStore() {
  const items = new Map<string, string>();
  return { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
}

describe('SpeedMemory (estimated duration from measured speed)', () => {
  it('has no estimate for a preset never run here, then the median of the last five measurements', () => {
    const memory = new SpeedMemory(memoryStore());
    expect(memory.speed('fast')).toBeNull();
    for (const v of [1000, 12_000, 11_000, 13_000, 10_000, 11_500]) memory.record('fast', v);
    expect(memory.speed('fast')).toBe(11_500); // 1000 dropped (only the last 5 kept): median of 10k, 11k, 11.5k, 12k, 13k
    expect(memory.speed('cnn')).toBeNull();
  });

  it('ignores nonsense and survives a corrupt store', () => {
    const store = memoryStore();
    const memory = new SpeedMemory(store);
    memory.record('seed', 0);
    memory.record('seed', Number.NaN);
    expect(memory.speed('seed')).toBeNull();
    store.setItem('digit-studio:training-speed', '{broken');
    expect(memory.speed('seed')).toBeNull();
    memory.record('seed', 900);
    expect(memory.speed('seed')).toBe(900);
  });
});
