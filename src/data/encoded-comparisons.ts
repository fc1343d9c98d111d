// Comparisons tokenized for reward-model training, kept compactly: every completion's scored
// sequence in one PackedTokens, and the pairs, margins and splits in typed arrays. A batch is built
// from indices into it, so memory scales with the batch, not with the data set.

import { type Comparison, rankingPairs } from './comparison.js';
import type { Message } from './formats/chat.js';
import { PackedTokens } from './packed-tokens.js';

/**
 * Token ids of one (prompt, completion) as the reward model scores it; `chat` holds their messages when the
 * comparison is conversational (Comparison.chat).
 */
export type EncodeScored = (
  prompt: string,
  completion: string,
  chat?: { prompt: Message[]; completion: Message[] },
) => ArrayLike<number>;

export class EncodedComparisons {
  /** Every completion's sequence, comparison after comparison. */
  readonly seqs: PackedTokens;
  /** (n + 1) comparison c's sequences are firstSeq[c] … firstSeq[c + 1] − 1. */
  readonly firstSeq: Int32Array;
  /** (n + 1) comparison c's pairs are firstPair[c] … firstPair[c + 1] − 1. */
  readonly firstPair: Int32Array;
  /** (P) sequence index of each pair's better and worse completion. */
  readonly better: Int32Array;
  readonly worse: Int32Array;
  /** (n) margin inside the sigmoid: the record's margin, else its confidence, else 0. */
  readonly margins: Float32Array;
  /** (n) 1 for a comparison in the hard split. */
  readonly hard: Uint8Array;

  constructor(comps: readonly Comparison[], vocabSize: number, encode: EncodeScored) {
    const n = comps.length;
    let pairs = 0,
      completions = 0;
    for (const c of comps) {
      pairs += (c.ranking.length * (c.ranking.length - 1)) / 2;
      completions += c.completions.length;
    }
    this.seqs = new PackedTokens(vocabSize, 64 * completions, completions);
    this.firstSeq = new Int32Array(n + 1);
    this.firstPair = new Int32Array(n + 1);
    this.better = new Int32Array(pairs);
    this.worse = new Int32Array(pairs);
    this.margins = new Float32Array(n);
    this.hard = new Uint8Array(n);
    let p = 0;
    comps.forEach((c, i) => {
      const base = this.seqs.size;
      c.completions.forEach((completion, k) => {
        const chat = c.chat && { prompt: c.chat.prompt, completion: c.chat.completions[k] };
        this.seqs.push(encode(c.prompt, completion, chat));
      });
      for (const [w, l] of rankingPairs(c.ranking)) {
        this.better[p] = base + w;
        this.worse[p++] = base + l;
      }
      this.firstSeq[i + 1] = this.seqs.size;
      this.firstPair[i + 1] = p;
      this.margins[i] = c.margin ?? c.confidence ?? 0;
      this.hard[i] = c.hard === true ? 1 : 0;
    });
    this.seqs.trim();
  }

  /** Number of comparisons. */
  get size(): number {
    return this.margins.length;
  }

  /** Number of pairs. */
  get pairs(): number {
    return this.better.length;
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    return (
      this.seqs.bytes +
      this.firstSeq.byteLength +
      this.firstPair.byteLength +
      this.better.byteLength +
      this.worse.byteLength +
      this.margins.byteLength +
      this.hard.byteLength
    );
  }

  /**
   * The sequences and pairs of some comparisons, renumbered from 0 within them: what one shard
   * of a reward-model step scores. Each pair weighs 1/C(K,2), so every comparison counts once.
   */
  select(idx: readonly number[]): SelectedComparisons {
    const seqs: (Uint16Array | Int32Array)[] = [];
    const better: number[] = [],
      worse: number[] = [],
      margins: number[] = [],
      weights: number[] = [];
    for (const c of idx) {
      const s0 = this.firstSeq[c],
        local = seqs.length - s0;
      for (let s = s0; s < this.firstSeq[c + 1]; s++) seqs.push(this.seqs.get(s));
      const p0 = this.firstPair[c],
        p1 = this.firstPair[c + 1];
      for (let p = p0; p < p1; p++) {
        better.push(this.better[p] + local);
        worse.push(this.worse[p] + local);
        margins.push(this.margins[c]);
        weights.push(1 / (p1 - p0));
      }
    }
    return {
      seqs,
      better: Int32Array.from(better),
      worse: Int32Array.from(worse),
      margins: Float32Array.from(margins),
      pairWeights: Float32Array.from(weights),
    };
  }
}

export interface SelectedComparisons {
  /** Views into the packed sequences (copied when padded into a batch). */
  seqs: (Uint16Array | Int32Array)[];
  /** (P) index into seqs of each pair's better and worse completion. */
  better: Int32Array;
  worse: Int32Array;
  margins: Float32Array;
  pairWeights: Float32Array;
}
