// The one split of a batch across threads: contiguous parts whose sizes differ by at most one. Every
// trainer, the sampler and the scorers split this way, so a shard's rows are the same everywhere.

/**
 * Bounds [start, end) of `parts` contiguous parts of n items whose sizes differ by at most one
 * (part k is ⌊k·n/parts⌋ … ⌊(k+1)·n/parts⌋). Never more parts than items, and at least one part.
 */
export function evenSplit(n: number, parts: number): [number, number][] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`evenSplit: n must be a non-negative integer, got ${n}`);
  const k = Math.max(1, Math.min(Math.floor(parts), n));
  return Array.from({ length: k }, (_, i) => [Math.floor((i * n) / k), Math.floor(((i + 1) * n) / k)]);
}

/** The items of each part of evenSplit(items.length, parts). */
export function splitEvenly<T>(items: readonly T[], parts: number): T[][] {
  return evenSplit(items.length, parts).map(([a, b]) => items.slice(a, b));
}
