// Applying learned merges to one pre-tokenized word. Merges are applied by rank: repeatedly merge
// the adjacent pair with the lowest rank, all its non-overlapping occurrences left to right, until
// no adjacent pair has a rank. This is GPT-2's `bpe()` and gives the same ids as Hugging Face's
// BPE model (which pops (rank, position) from a heap; the two orders agree).

/** Pairs of token ids are packed into one number: a * PAIR_SHIFT + b (exact below 2^53). */
export const PAIR_SHIFT = 2 ** 21;
export const MAX_ID = PAIR_SHIFT - 1;

export function pairKey(a: number, b: number): number {
  return a * PAIR_SHIFT + b;
}

/** Merges indexed for lookup: rank of a pair, and the id the pair becomes. */
export class MergeTable {
  /** pairKey(a, b) -> rank (the merge's index in the merges list). */
  readonly ranks = new Map<number, number>();
  /** results[rank] = id of the merged token. */
  readonly results: number[] = [];
  /** pairs[rank] = [a, b], kept for serialization. */
  readonly pairs: [number, number][] = [];

  /** Adds the next merge (lowest priority so far). A pair listed twice keeps its first rank. */
  add(a: number, b: number, result: number): void {
    const key = pairKey(a, b);
    if (this.ranks.has(key)) return;
    this.ranks.set(key, this.pairs.length);
    this.results.push(result);
    this.pairs.push([a, b]);
  }

  get size(): number {
    return this.pairs.length;
  }
}

// Words up to this many symbols use the simple quadratic scan; longer ones (long runs of
// whitespace, base64 blobs, minified code) use a heap so encoding stays O(n log n).
const HEAP_THRESHOLD = 48;

/** Merges a word's byte token ids by rank; returns the merged ids (`ids` is not modified). */
export function applyMerges(ids: number[], table: MergeTable, heapThreshold = HEAP_THRESHOLD): number[] {
  if (ids.length < 2) return ids;
  return ids.length <= heapThreshold ? mergeByScan(ids, table) : mergeByHeap(ids, table);
}

function mergeByScan(input: number[], table: MergeTable): number[] {
  const word = input.slice();
  const { ranks, results } = table;
  while (word.length > 1) {
    let best = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const r = ranks.get(word[i] * PAIR_SHIFT + word[i + 1]);
      if (r !== undefined && r < best) best = r;
    }
    if (best === Infinity) break;
    const [a, b] = table.pairs[best];
    const merged = results[best];
    let w = 0;
    for (let i = 0; i < word.length; i++) {
      if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
        word[w++] = merged;
        i++;
      } else {
        word[w++] = word[i];
      }
    }
    word.length = w;
  }
  return word;
}

// Heap entries pack (rank, position) into one number so the heap is a plain number[]:
// lower rank first, then leftmost position, which reproduces the left-to-right rule above.
const POS_SHIFT = 2 ** 32;

function mergeByHeap(input: number[], table: MergeTable): number[] {
  const n = input.length;
  const sym = Int32Array.from(input); // -1 = merged into its left neighbour
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const heap: number[] = [];
  const { ranks, results } = table;
  const pushPair = (i: number) => {
    const j = next[i];
    if (i < 0 || j < 0) return;
    const r = ranks.get(sym[i] * PAIR_SHIFT + sym[j]);
    if (r !== undefined) heapPush(heap, r * POS_SHIFT + i);
  };
  for (let i = 0; i + 1 < n; i++) pushPair(i);

  while (heap.length > 0) {
    const entry = heapPop(heap);
    const rank = Math.floor(entry / POS_SHIFT);
    const i = entry - rank * POS_SHIFT;
    const j = next[i];
    // Stale entries: the left symbol was absorbed, or either side changed since the push.
    if (sym[i] < 0 || j < 0 || ranks.get(sym[i] * PAIR_SHIFT + sym[j]) !== rank) continue;
    sym[i] = results[rank];
    sym[j] = -1;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    pushPair(prev[i]);
    pushPair(i);
  }
  const out: number[] = [];
  for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
  return out;
}

// ---- a binary min-heap over numbers ----

export function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p] <= v) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = v;
}

export function heapPop(h: number[]): number {
  const top = h[0];
  const last = h.pop()!;
  const n = h.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && h[c + 1] < h[c]) c++;
    if (h[c] >= last) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
  return top;
}
