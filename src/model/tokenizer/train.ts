// Learning byte-level BPE merges from a corpus.
//
// The corpus is pre-tokenized once into distinct words with counts. Pair counts are then kept up
// to date incrementally: each merge only revisits the words that contain the merged pair (an
// index from pair to words), and a lazy max-heap yields the most frequent pair. This is the
// algorithm of Hugging Face's BpeTrainer, and the id layout matches it:
//
//   ids 0..k-1        the special tokens, in the order given
//   ids k..k+255      the 256 byte tokens, ordered by their byte-level character (GPT-2's order)
//   ids k+256..       one per merge, in the order learned
//
// Ties between equally frequent pairs go to the pair with the smaller (left id, right id), so a
// run on the same texts and options always learns the same merges.

import { BYTES_BY_CHAR, BYTE_TO_CHAR, charToByte, preTokenize, utf8Bytes } from './byte-level.js';
import { splitOnSpecials } from './special-tokens.js';

export interface TrainOptions {
  /** Target vocabulary size: special tokens + 256 byte tokens + merges. */
  vocabSize: number;
  /** Special tokens, given ids 0..k-1 in this order. Default ['<|endoftext|>']. */
  specialTokens?: string[];
  /** Stop early once the most frequent pair occurs fewer than this many times. Default 0 (never). */
  minFrequency?: number;
  /** Called while counting (every 1000 texts) and merging (every 100 merges), and once at the end. */
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainProgress {
  phase: 'count' | 'merge';
  /** count: texts read so far; merge: vocabulary size so far. */
  done: number;
  /** merge: the target vocabulary size; count: undefined (an iterable has no known length). */
  total?: number;
}

export interface TrainResult {
  /** tokens[id] is the token's string: raw text for specials, byte-level characters otherwise. */
  tokens: string[];
  /** Merges in rank order as [left id, right id, result id]. */
  merges: [number, number, number][];
  specialTokens: string[];
}

export function trainBPE(texts: Iterable<string>, opts: TrainOptions): TrainResult {
  const specialTokens = opts.specialTokens ?? ['<|endoftext|>'];
  const minFrequency = Math.max(1, opts.minFrequency ?? 0);
  const { vocabSize, onProgress } = opts;
  validateOptions(vocabSize, specialTokens, opts.minFrequency);

  // ---- base vocabulary ----
  const tokens: string[] = [...specialTokens];
  const byteId = new Int32Array(256);
  for (const b of BYTES_BY_CHAR) {
    byteId[b] = tokens.length;
    tokens.push(BYTE_TO_CHAR[b]);
  }
  const tokenIds = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (!tokenIds.has(t)) tokenIds.set(t, id);
  });

  // ---- count words once ----
  const wordCounts = new Map<string, number>();
  let textsRead = 0;
  for (const text of texts) {
    for (const segment of splitOnSpecials(text, specialTokens)) {
      if (typeof segment !== 'string') continue; // special tokens are never merged
      for (const w of preTokenize(segment)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
    }
    if (++textsRead % 1000 === 0) onProgress?.({ phase: 'count', done: textsRead });
  }
  onProgress?.({ phase: 'count', done: textsRead });

  const words = new WordSet(wordCounts, byteId);
  wordCounts.clear();

  // NOTE: pair keys use vocabSize as the multiplier (ids are < vocabSize during training) so
  // that keys stay small integers, which V8's Map handles much faster than large doubles.
  const K = vocabSize;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>(); // may hold stale or repeated word indices
  const addPair = (key: number, n: number, w: number) => {
    const c = (pairCount.get(key) ?? 0) + n;
    if (c === 0) pairCount.delete(key);
    else pairCount.set(key, c);
    if (n > 0) {
      const list = pairWords.get(key);
      if (list === undefined) pairWords.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  };
  for (let w = 0; w < words.count.length; w++) {
    const s = words.start[w];
    const e = s + words.len[w];
    for (let i = s; i + 1 < e; i++) addPair(words.sym[i] * K + words.sym[i + 1], words.count[w], w);
  }

  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  // ---- merge loop ----
  const merges: [number, number, number][] = [];
  const touched = new Set<number>();
  while (tokenIds.size < vocabSize && heap.size > 0) {
    const [c, key] = heap.pop();
    const current = pairCount.get(key) ?? 0;
    if (current !== c) {
      // Lazy deletion: the count fell since this entry was pushed; requeue at the true count.
      if (current > 0) heap.push(current, key);
      continue;
    }
    if (c < minFrequency) break;

    const a = Math.floor(key / K);
    const b = key - a * K;
    const str = tokens[a] + tokens[b];
    // NOTE: two different merges can spell the same string ("ab"+"c", "a"+"bc"); like Hugging
    // Face we reuse the existing id, so merges can outnumber the new vocabulary entries. A merge
    // can also land on a special token's id if their strings match, which is harmless unless the
    // special token contains Latin-1 or U+0100..U+0143 characters (mojibake like "Ã©"; not checked).
    let id = tokenIds.get(str);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(str);
      tokenIds.set(str, id);
    }
    merges.push([a, b, id]);

    touched.clear();
    for (const w of pairWords.get(key) ?? []) words.merge(w, a, b, id, K, addPair, touched);
    pairCount.delete(key);
    pairWords.delete(key);
    for (const t of touched) {
      const n = pairCount.get(t);
      if (n !== undefined) heap.push(n, t);
    }
    if (merges.length % 100 === 0) onProgress?.({ phase: 'merge', done: tokenIds.size, total: vocabSize });
  }
  onProgress?.({ phase: 'merge', done: tokenIds.size, total: vocabSize });
  return { tokens, merges, specialTokens };
}

function validateOptions(vocabSize: number, specials: string[], minFrequency: number | undefined): void {
  const base = specials.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize < base) {
    throw new Error(
      `train: vocabSize must be an integer >= ${base} (${specials.length} special tokens + 256 bytes), got ` +
        `${vocabSize}`,
    );
  }
  if (vocabSize > 2 ** 21) throw new Error(`train: vocabSize must be <= ${2 ** 21}, got ${vocabSize}`);
  if (specials.length === 0) {
    throw new Error("train: specialTokens must not be empty (eosId needs one); use ['<|endoftext|>']");
  }
  if (new Set(specials).size !== specials.length || specials.some((s) => typeof s !== 'string' || s === '')) {
    throw new Error(`train: specialTokens must be distinct non-empty strings, got ${JSON.stringify(specials)}`);
  }
  const byteToken = specials.find((s) => s.length === 1 && charToByte(s.charCodeAt(0)) >= 0);
  if (byteToken !== undefined) {
    // It would take the byte's place in the vocabulary and break encoding of that byte.
    throw new Error(`train: specialTokens must not be a single byte-level character, got ${JSON.stringify(byteToken)}`);
  }
  if (minFrequency !== undefined && !(minFrequency >= 0)) {
    throw new Error(`train: minFrequency must be >= 0, got ${minFrequency}`);
  }
}

/** Distinct words as symbol runs in one flat array; merging shrinks a word's run in place. */
class WordSet {
  readonly sym: Int32Array;
  readonly start: Int32Array;
  readonly len: Int32Array;
  readonly count: Float64Array;

  constructor(wordCounts: Map<string, number>, byteId: Int32Array) {
    const n = wordCounts.size;
    this.start = new Int32Array(n);
    this.len = new Int32Array(n);
    this.count = new Float64Array(n);
    const all: number[] = [];
    let w = 0;
    for (const [word, count] of wordCounts) {
      this.start[w] = all.length;
      utf8Bytes(word, all);
      this.len[w] = all.length - this.start[w];
      this.count[w++] = count;
    }
    this.sym = Int32Array.from(all, (b) => byteId[b]);
  }

  /**
   * Replaces every non-overlapping (a, b) in word w, left to right, with c, and reports the
   * pair-count changes through addPair. Pairs whose count rose are added to `touched`.
   * A word listed twice for a pair is harmless: the second pass finds nothing to merge.
   */
  merge(
    w: number,
    a: number,
    b: number,
    c: number,
    K: number,
    addPair: (key: number, n: number, w: number) => void,
    touched: Set<number>,
  ): void {
    const { sym } = this;
    const s = this.start[w];
    const end = s + this.len[w];
    const n = this.count[w];
    let out = s;
    for (let i = s; i < end; ) {
      if (i + 1 < end && sym[i] === a && sym[i + 1] === b) {
        // The pair (a, b) itself is dropped wholesale by the caller once all words are done.
        if (out > s) {
          const p = sym[out - 1]; // already rewritten, so this may be an earlier c
          addPair(p * K + a, -n, w);
          addPair(p * K + c, n, w);
          touched.add(p * K + c);
        }
        if (i + 2 < end) {
          const q = sym[i + 2];
          addPair(b * K + q, -n, w);
          addPair(c * K + q, n, w);
          touched.add(c * K + q);
        }
        sym[out++] = c;
        i += 2;
      } else {
        sym[out++] = sym[i++];
      }
    }
    this.len[w] = out - s;
  }
}

/** Max-heap of (count, pair key): higher count first, then the smaller key (smaller ids). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private before(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }

  push(c: number, k: number): void {
    const { counts, keys } = this;
    let i = counts.length;
    counts.push(c);
    keys.push(k);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(c, k, counts[p], keys[p])) break;
      counts[i] = counts[p];
      keys[i] = keys[p];
      i = p;
    }
    counts[i] = c;
    keys[i] = k;
  }

  pop(): [number, number] {
    const { counts, keys } = this;
    const top: [number, number] = [counts[0], keys[0]];
    const c = counts.pop()!;
    const k = keys.pop()!;
    const n = counts.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let ch = 2 * i + 1;
      if (ch >= n) break;
      if (ch + 1 < n && this.before(counts[ch + 1], keys[ch + 1], counts[ch], keys[ch])) ch++;
      if (!this.before(counts[ch], keys[ch], c, k)) break;
      counts[i] = counts[ch];
      keys[i] = keys[ch];
      i = ch;
    }
    counts[i] = c;
    keys[i] = k;
    return top;
  }
}
