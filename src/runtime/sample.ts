// Sampling split across the worker pool: each thread samples its share of the prompts with the
// single-thread sampler (model/sample.ts), so the tokens are those of one thread. A few prompts instead
// sample on this thread with the weights in the decode kernels' memory (engine/decode-weights.ts), whose
// products use every thread: each step then reads the weights once rather than once per thread.

import { DECODE_MAX_ROWS, type DecodeDtype, decodeDtype, decodeWeights } from '../engine/decode-weights.js';
import { evenSplit } from '../engine/split.js';
import { defineKernel } from '../engine/parallel.js';
import type { CausalLM } from '../model/causal-lm.js';
import {
  type Generation,
  type SampleOptions,
  sampleSequences,
  samplingSeed,
  validateSampleOptions,
} from '../model/sample.js';
import { type Replica, runSharded, shardCount } from './replica.js';

/** Prompt tokens worth one decode step on the decode weights (see generate). */
const PREFILL_PER_DECODE_STEP = 32;

/**
 * Samples continuations of each prompt (token ids), the prompts split across the threads of the
 * worker pool when there is one. Row i's sample depends only on the seed and i (see sampleSequences).
 */
export function generate(model: CausalLM, prompts: number[][], opts: SampleOptions): Generation[] {
  validateSampleOptions(opts);
  const n = Math.min(shardCount(), prompts.length);
  // NOTE: on this thread the prompts' forward (prefill) runs alone; split across threads it would be about
  // twice as fast. A decode step saves about as much as 30-40 prompt tokens cost, so prompts much longer
  // than the completions keep the split path.
  const promptTokens = prompts.reduce((sum, p) => sum + p.length, 0);
  const decoding =
    prompts.length <= DECODE_MAX_ROWS &&
    (n <= 1 || promptTokens <= PREFILL_PER_DECODE_STEP * opts.maxNewTokens) &&
    holdDecodeWeights(model, opts.decodeWeights ?? decodeDtype());
  if (n <= 1 || decoding) return sampleSequences(model, prompts, opts);
  const seed = samplingSeed(opts);
  const shards: SampleShard[] = [];
  for (const [r0, r1] of evenSplit(prompts.length, n)) {
    shards.push({ prompts: prompts.slice(r0, r1), rowOffset: r0, opts: { ...opts, seed, rng: undefined } });
  }
  const replica = { models: { policy: model }, heads: {} };
  return runSharded(replica, sampleKernel, shards).flat();
}

export interface SampleShard {
  prompts: number[][];
  /** Index of the shard's first prompt in the whole batch (its rows' random streams follow from it). */
  rowOffset: number;
  opts: SampleOptions;
}

/** The per-thread part of generate(). */
export function sampleShard(r: Replica, s: SampleShard): Generation[] {
  return sampleSequences(r.models.policy, s.prompts, s.opts, s.rowOffset);
}

const sampleKernel = defineKernel(import.meta.url, { sampleShard });

/**
 * Makes the decode kernels hold the model's linear layers and output matrix (a copy when they changed since
 * the last run). False when decoding is off, the kernels are missing or the copies do not fit.
 */
export function holdDecodeWeights(model: CausalLM, dtype: DecodeDtype | 'off'): boolean {
  if (dtype === 'off') return false;
  const dw = decodeWeights();
  if (!dw) return false;
  const weights = [
    ...model.linears.map((l) => ({ tensor: l.weight, outIn: l.outIn })),
    { tensor: model.lmHead, outIn: true },
  ];
  return dw.holds(weights, dtype) || dw.load(weights, dtype);
}
