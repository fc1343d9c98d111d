// Batches for language-model training (SFT, ReST's Improve steps, Chain of Hindsight): random
// windows of one token stream, prompt/completion examples padded together with the loss on the
// completion, or conversations with the loss on their assistant turns. Tokens are kept packed
// (PackedTokens), so memory scales with the batch.

import { IGNORE_INDEX } from '../engine/ops/loss.js';
import type { RNG } from '../engine/rng.js';
import { EpochOrder } from './batching.js';
import { PackedTokens } from './packed-tokens.js';

/** A batch of B sequences of length T: inputs and next-token targets (IGNORE_INDEX = no loss). */
export interface LMBatch {
  ids: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  /** Tokens that carry loss. */
  tokens: number;
  /** Per-token loss weights (B·T), when examples carry weights. */
  weights?: Float32Array;
}

/** Source of batches for language-model training. */
export interface LMSource {
  /** The batch of a training step (the same step always gives the same batch, so resuming is exact). */
  sample(rng: RNG, B: number, step: number): LMBatch;
  /** Fixed batches for evaluation. */
  fixed(B: number, n: number): LMBatch[];
  size: number;
}

/**
 * Positions of a batch whose longest sequence has `longest` positions: a multiple of 4 (whole SIMD
 * vectors in attention), at most T.
 */
export function batchLength(longest: number, T: number): number {
  return Math.min(T, (Math.max(1, longest) + 3) & ~3);
}

// ---- plain text: random windows of one token stream ----

/** Documents joined into one stream, each followed by `separator` (the end-of-text token). */
export function joinTokens(docs: readonly ArrayLike<number>[], separator: number): Int32Array {
  const out = new Int32Array(docs.reduce((a, d) => a + d.length + 1, 0));
  let at = 0;
  for (const d of docs) {
    out.set(d, at);
    out[(at += d.length)] = separator;
    at++;
  }
  return out;
}

export function streamSource(stream: Int32Array, T: number): LMSource {
  const len = Math.min(T, stream.length - 1);
  if (len < 1) throw new Error('the text is too short to train on: it needs at least 2 tokens');
  const window = (start: number, b: number, batch: LMBatch) => {
    for (let t = 0; t < len; t++) {
      batch.ids[b * len + t] = stream[start + t];
      batch.targets[b * len + t] = stream[start + t + 1];
    }
  };
  const empty = (B: number): LMBatch => ({
    ids: new Int32Array(B * len),
    targets: new Int32Array(B * len),
    B,
    T: len,
    tokens: B * len,
  });
  return {
    size: stream.length,
    sample(rng, B, _step) {
      const batch = empty(B);
      for (let b = 0; b < B; b++) window(rng.int(stream.length - len), b, batch);
      return batch;
    },
    fixed(B, n) {
      const out: LMBatch[] = [];
      const span = stream.length - len;
      for (let k = 0; k < n; k++) {
        const batch = empty(B);
        for (let b = 0; b < B; b++) window(Math.floor(((k * B + b) * span) / Math.max(1, n * B)), b, batch);
        out.push(batch);
      }
      return out;
    },
  };
}

// ---- prompt/completion: padded batches with the loss on the completion ----

export interface TokenizedExample {
  prompt: number[];
  completion: number[];
  /** Weight of this example's loss (reward-weighted fine-tuning); 1 when absent. */
  weight?: number;
}

/** prompt+completion cut to T+1 tokens: the prompt loses tokens from its start first. */
export function packExample(ex: TokenizedExample, T: number): { seq: number[]; promptLen: number } {
  let prompt = ex.prompt,
    completion = ex.completion;
  if (completion.length > T + 1 - 1) completion = completion.slice(0, T); // keep ≥ 1 prompt token
  if (prompt.length + completion.length > T + 1) prompt = prompt.slice(prompt.length - (T + 1 - completion.length));
  return { seq: [...prompt, ...completion], promptLen: prompt.length };
}

/**
 * Batches of prompt/completion examples, each cut by packExample and stored packed. Epoch e visits
 * them in EpochOrder(seed): a step's batch depends only on the step number.
 */
export function pairSource(examples: readonly TokenizedExample[], T: number, padId: number, seed = 0): LMSource {
  const n = examples.length;
  if (n === 0) throw new Error('no examples to train on');
  let top = padId,
    capacity = 0;
  for (const e of examples) {
    for (const id of e.prompt) if (id > top) top = id;
    for (const id of e.completion) if (id > top) top = id;
    capacity += Math.min(T + 1, e.prompt.length + e.completion.length); // what packExample keeps, at most
  }
  const seqs = new PackedTokens(top + 1, capacity, n);
  const promptLen = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = packExample(examples[i], T);
    seqs.push(p.seq);
    promptLen[i] = p.promptLen;
  }
  seqs.trim();
  const weights = examples.some((e) => e.weight !== undefined)
    ? Float32Array.from(examples, (e) => e.weight ?? 1)
    : null;
  return packedSource(seqs, (i) => (j) => j >= promptLen[i], weights, T, padId, seed);
}

// ---- conversations: padded batches with the loss on the tokens a mask marks ----

/** A sequence whose loss is on the tokens marked 1 (a conversation's assistant turns). */
export interface MaskedExample {
  ids: ArrayLike<number>;
  /** Parallel to ids: 1 where token j is a target (predicted at position j − 1). */
  mask: ArrayLike<number>;
}

/**
 * Batches of masked sequences, each cut to its first T + 1 tokens (a conversation keeps its start, as
 * TRL truncates), in EpochOrder(seed).
 */
export function maskedSource(examples: readonly MaskedExample[], T: number, padId: number, seed = 0): LMSource {
  const n = examples.length;
  if (n === 0) throw new Error('no examples to train on');
  let top = padId,
    capacity = 0;
  for (const e of examples) {
    if (e.mask.length !== e.ids.length)
      throw new Error(`maskedSource: a mask of ${e.mask.length} for ${e.ids.length} tokens; they must match`);
    for (let j = 0; j < e.ids.length; j++) if (e.ids[j] > top) top = e.ids[j];
    capacity += Math.min(T + 1, e.ids.length);
  }
  const seqs = new PackedTokens(top + 1, capacity, n);
  const masks = new PackedTokens(2, capacity, n);
  for (const e of examples) {
    const keep = Math.min(T + 1, e.ids.length);
    seqs.push(Array.prototype.slice.call(e.ids, 0, keep));
    masks.push(Array.from({ length: keep }, (_, j) => (e.mask[j] ? 1 : 0)));
  }
  seqs.trim();
  masks.trim();
  return packedSource(
    seqs,
    (i) => {
      const m = masks.get(i);
      return (j) => m[j] === 1;
    },
    null,
    T,
    padId,
    seed,
  );
}

/**
 * Batches of packed sequences padded to the batch's longest; position t predicts token t + 1, with a loss
 * where carries(sequence)(t + 1). Batches follow EpochOrder(seed).
 */
function packedSource(
  seqs: PackedTokens,
  carries: (i: number) => (j: number) => boolean,
  weights: Float32Array | null,
  T: number,
  padId: number,
  seed: number,
): LMSource {
  const n = seqs.size;
  const build = (idx: readonly number[]): LMBatch => {
    const Tb = batchLength(Math.max(...idx.map((i) => seqs.length(i) - 1)), T);
    const B = idx.length;
    const ids = new Int32Array(B * Tb).fill(padId);
    const targets = new Int32Array(B * Tb).fill(IGNORE_INDEX);
    const w = weights ? new Float32Array(B * Tb) : undefined;
    let tokens = 0;
    idx.forEach((i, b) => {
      const seq = seqs.get(i);
      const loss = carries(i);
      for (let t = 0; t + 1 < seq.length; t++) {
        ids[b * Tb + t] = seq[t];
        if (loss(t + 1)) {
          targets[b * Tb + t] = seq[t + 1];
          if (w) w[b * Tb + t] = weights![i];
          tokens++;
        }
      }
    });
    return { ids, targets, B, T: Tb, tokens, weights: w };
  };
  const order = new EpochOrder(n, seed);
  return {
    size: n,
    sample(_rng, B, step) {
      return build(order.batch(step, B));
    },
    fixed(B, count) {
      const out: LMBatch[] = [];
      for (let k = 0; k < count && k * B < n; k++)
        out.push(build(Array.from({ length: Math.min(B, n - k * B) }, (_, j) => k * B + j)));
      return out;
    },
  };
}
