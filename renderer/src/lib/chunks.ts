/**
 * Splits `items` into consecutive groups of at most `count` items whose sizes add up to at most
 * `size`. An item larger than `size` on its own gets a group of its own.
 */
export function chunkBySize<T>(items: readonly T[], limits: { count: number; size: number; sizeOf: (item: T) => number }): T[][] {
  const { count, size, sizeOf } = limits;
  if (!(count >= 1)) throw new RangeError(`chunk size must be at least 1, got ${count}`);
  const groups: T[][] = [];
  let group: T[] = [];
  let total = 0;
  for (const item of items) {
    const itemSize = sizeOf(item);
    if (group.length > 0 && (group.length >= count || total + itemSize > size)) {
      groups.push(group);
      group = [];
      total = 0;
    }
    group.push(item);
    total += itemSize;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
