// Deterministic train/eval splits by a hash of a key (the prompt), so no prompt is in both.

/**
 * FNV-1a 32-bit hash of a string's UTF-16 code units, then MurmurHash3's finalizer.
 * NOTE: without the finalizer, strings that differ only in their last characters ("Item 1",
 * "Item 2", …) differ only in FNV's low bits, and a split on the high bits puts them all on one side.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** True when the key belongs to the eval split (a stable fraction of all keys). */
export function isEvalKey(key: string, evalFraction: number): boolean {
  return hashString(key) / 4294967296 < evalFraction;
}

/** Splits items by the hash of key(item); the same key always lands on the same side. */
export function splitByKey<T>(items: T[], key: (x: T) => string, evalFraction: number): { train: T[]; eval: T[] } {
  const train: T[] = [],
    evalSet: T[] = [];
  for (const x of items) (isEvalKey(key(x), evalFraction) ? evalSet : train).push(x);
  return { train, eval: evalSet };
}
