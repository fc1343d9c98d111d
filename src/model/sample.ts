// Batched sampling with a KV cache. Each prompt keeps its own length and position, so prompts of
// different lengths need no padding; finished rows drop out of the batch.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { RNG } from '../engine/rng.js';
import type { CausalLM } from './causal-lm.js';
import { KVCache } from './kv-cache.js';
import { type DistributionOptions, policyLogitsRow } from './logits.js';

export interface SampleOptions {
  /** Most tokens to generate per prompt. */
  maxNewTokens: number;
  /** Softmax temperature; 0 means greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = all). */
  topP?: number;
  /** Generation of a row ends after it emits one of these (the token is included in the output). */
  stopTokens?: number[];
  /** Only ids below this are sampled (the tokenizer's vocabulary; a model's may be padded past it). Default: all. */
  vocabSize?: number;
  /** Seed of the sampling RNG (ignored when rng is given). */
  seed?: number;
  /**
   * Weights of the decode steps when few prompts are sampled at once (runtime/sample.ts): copies as float32
   * (the default: the same values), as bfloat16 (half the memory, faster; rounds each weight), or 'off'
   * (the matrix-product backend, split by prompts across threads). Default: engine/decode-weights.ts's
   * decodeDtype() (RLHF_DECODE, or `--dtype`).
   */
  decodeWeights?: 'float32' | 'bfloat16' | 'off';
  rng?: RNG;
}

export type FinishReason = 'stop' | 'length' | 'context';

export interface Generation {
  /** New tokens, ending with the stop token when finishReason is 'stop'. */
  tokens: number[];
  finishReason: FinishReason;
}

export function validateSampleOptions(o: SampleOptions): void {
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0)
    throw new Error(`maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  if (o.temperature !== undefined && !(o.temperature >= 0))
    throw new Error(`temperature must be ≥ 0, got ${o.temperature}`);
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0))
    throw new Error(`topK must be a non-negative integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new Error(`topP must be in (0, 1], got ${o.topP}`);
  if (o.vocabSize !== undefined && !(Number.isInteger(o.vocabSize) && o.vocabSize > 0))
    throw new Error(`vocabSize must be a positive integer, got ${o.vocabSize}`);
}

/**
 * Runs prompts (each ≥ 1 token) through the model, continuing cache rows `rows` (empty rows start at
 * position 0), and returns the logits of each prompt's last position (rows.length, V).
 */
export function prefill(model: CausalLM, cache: KVCache, prompts: number[][], rows: number[]): Float32Array {
  const V = model.config.vocabSize;
  const out = new Float32Array(prompts.length * V);
  // Prompts of equal length share one batched forward pass.
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`prompt ${i} is empty: give at least one token (e.g. the end-of-text token)`);
    const used = cache.len[rows[i]];
    if (used + p.length > cache.Tmax)
      throw new Error(
        `prompt ${i} has ${p.length} tokens but the model's context is ${cache.Tmax}` +
          (used ? ` and ${used} positions of cache row ${rows[i]} are taken` : ''),
      );
    byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]);
  });
  for (const [T, group] of byLength) {
    const B = group.length;
    const ids = new Int32Array(B * T);
    group.forEach((i, b) => ids.set(prompts[i], b * T));
    const g = Graph.inference();
    const h = model.hidden(g, ids, B, T, { cache, rows: group.map((i) => rows[i]) });
    const last = ops.selectRows(
      g,
      h,
      group.map((_, b) => b * T + T - 1),
    );
    const logits = model.logits(g, last);
    group.forEach((i, b) => out.set(logits.data.subarray(b * V, (b + 1) * V), i * V));
    g.dispose();
  }
  return out;
}

/**
 * One decoding step: feeds token tokens[i] to cache row rows[i] at position cache.len[row] (the
 * model's forward with T = 1 per row) and returns next-token logits (rows.length, V).
 */
export function decodeStep(model: CausalLM, cache: KVCache, rows: number[], tokens: number[]): Float32Array {
  const g = Graph.inference();
  const logits = model.forward(g, Int32Array.from(tokens), rows.length, 1, { cache, rows });
  const out = Float32Array.from(logits.data);
  g.dispose();
  return out;
}

/**
 * Samples continuations of each prompt (token ids) on this thread. Row i draws from its own random
 * stream, derived from the seed and rowOffset + i, so a row's sample does not depend on the batch it
 * is in: runtime/sample.ts splits prompts across threads with the same result.
 */
export function sampleSequences(
  model: CausalLM,
  prompts: number[][],
  opts: SampleOptions,
  rowOffset = 0,
): Generation[] {
  const s = new StepSampler(model, prompts, opts, rowOffset);
  while (!s.done) s.step();
  return s.results;
}

/** A token drawn by StepSampler.step for one row. */
export interface SampledToken {
  row: number;
  token: number;
  /** The row's logits that the token was drawn from are step's logits[at·V … at·V + V − 1]. */
  at: number;
  /** Set when this token ended the row. */
  finish: FinishReason | null;
}

/**
 * sampleSequences one token at a time, for callers that act between tokens: a server streams each
 * token's text, ends a row at a stop text or when its client leaves (finish), and lets other work run.
 * The tokens are those of sampleSequences for the same seed and rows.
 */
export class StepSampler {
  readonly results: Generation[];
  /** The logits of the last step, (rows active in it, V); see SampledToken.at. */
  logits: Float32Array = new Float32Array(0);
  private readonly rngs: RNG[];
  private readonly stop: Set<number>;
  private readonly cache: KVCache | null;
  private active: number[];
  private started = false;
  private readonly probs: Float32Array<ArrayBuffer>;

  constructor(
    private readonly model: CausalLM,
    private readonly prompts: number[][],
    private readonly opts: SampleOptions,
    rowOffset = 0,
  ) {
    validateSampleOptions(opts);
    const seed = samplingSeed(opts);
    this.rngs = prompts.map((_, i) => new RNG((seed ^ Math.imul(rowOffset + i + 1, 0x9e3779b1)) >>> 0));
    this.stop = new Set(opts.stopTokens ?? []);
    this.results = prompts.map(() => ({ tokens: [], finishReason: 'length' }));
    const live = prompts.length > 0 && opts.maxNewTokens > 0;
    this.active = live ? prompts.map((_, i) => i) : [];
    const longest = prompts.reduce((m, p) => Math.max(m, p.length), 0);
    this.cache = live ? KVCache.forModel(model.config, prompts.length, longest + opts.maxNewTokens) : null;
    this.probs = new Float32Array(model.config.vocabSize);
  }

  /** True once every row has finished. */
  get done(): boolean {
    return this.active.length === 0;
  }

  /** Ends a row before its stop token or length (a stop text, a client gone). */
  finish(row: number, reason: FinishReason): void {
    if (!this.active.includes(row)) return;
    this.results[row].finishReason = reason;
    this.active = this.active.filter((r) => r !== row);
  }

  /** Draws the next token of every active row (the first call runs the prompts through the model). */
  step(): SampledToken[] {
    if (this.done) return [];
    const { model, cache, opts, results } = this;
    const { nPositions, vocabSize: V } = model.config;
    if (!this.started) {
      this.started = true;
      this.logits = prefill(
        model,
        cache!,
        this.active.map((r) => this.prompts[r]),
        this.active,
      );
    } else {
      // NOTE: fed lazily, so that rows finished between steps are not decoded again.
      const last = this.active.map((r) => results[r].tokens[results[r].tokens.length - 1]);
      this.logits = decodeStep(model, cache!, this.active, last);
    }
    const out: SampledToken[] = [];
    const still: number[] = [];
    this.active.forEach((row, at) => {
      const token = pickToken(this.logits, at * V, V, opts, this.rngs[row], this.probs);
      const r = results[row];
      r.tokens.push(token);
      let finish: FinishReason | null = null;
      if (this.stop.has(token)) finish = 'stop';
      else if (r.tokens.length >= opts.maxNewTokens) finish = 'length';
      else if (cache!.len[row] >= nPositions) finish = 'context';
      else still.push(row);
      if (finish) r.finishReason = finish;
      out.push({ row, token, at, finish });
    });
    this.active = still;
    return out;
  }
}

/** The seed of a sampling call: one draw from opts.rng when given, else opts.seed (default 0). */
export function samplingSeed(opts: SampleOptions): number {
  return opts.rng ? opts.rng.nextU32() : (opts.seed ?? 0);
}

/**
 * The distribution a token is drawn from, into probs[0 … V-1]: softmax(policyLogits(logits)), i.e.
 * softmax(logits / temperature) over the ids below vocabSize (the distribution whose log-probabilities
 * completionLogProbs gives), then cut to the k most likely tokens and to the nucleus p, renormalized.
 * NOTE: temperature 0 (greedy) has no distribution; pickToken takes the argmax instead.
 */
export function samplingProbs(
  logits: Float32Array,
  off: number,
  V: number,
  o: SampleOptions,
  probs = new Float32Array(V),
): Float32Array {
  policyLogitsRow(logits, off, V, distributionOf(o, V), probs);
  let m = -Infinity;
  for (let j = 0; j < V; j++) if (probs[j] > m) m = probs[j];
  let z = 0;
  for (let j = 0; j < V; j++) z += probs[j] = Math.exp(probs[j] - m);
  const topK = o.topK ?? 0,
    topP = o.topP ?? 1;
  if ((topK > 0 && topK < V) || topP < 1) {
    const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => probs[b] - probs[a]);
    let keep = topK > 0 ? Math.min(topK, V) : V;
    if (topP < 1) {
      // The smallest head of the order whose probability (before the cut) reaches p.
      let cum = 0;
      for (let r = 0; r < keep; r++) {
        cum += probs[order[r]] / z;
        if (cum >= topP) {
          keep = r + 1;
          break;
        }
      }
    }
    for (let r = keep; r < V; r++) probs[order[r]] = 0;
    z = 0;
    for (let j = 0; j < V; j++) z += probs[j];
  }
  for (let j = 0; j < V; j++) probs[j] /= z;
  return probs;
}

/** Chooses a token from one row of logits (V): a draw from samplingProbs, or the argmax at temperature 0. */
export function pickToken(
  logits: Float32Array,
  off: number,
  V: number,
  o: SampleOptions,
  rng: RNG,
  probs = new Float32Array(V),
): number {
  if (o.temperature === 0) {
    // Greedy: the most likely id under the same vocabulary mask.
    policyLogitsRow(logits, off, V, distributionOf({ ...o, temperature: 1 }, V), probs);
    let best = 0;
    for (let j = 1; j < V; j++) if (probs[j] > probs[best]) best = j;
    return best;
  }
  return rng.categorical(samplingProbs(logits, off, V, o, probs), V);
}

/** The sampling options' distribution over a model vocabulary of V ids (defaults: temperature 1, all ids). */
function distributionOf(o: SampleOptions, V: number): DistributionOptions {
  return { temperature: o.temperature ?? 1, vocabSize: o.vocabSize ?? V };
}
