// Per-token log-probabilities of completions, batched and split across the worker pool.

import { defineKernel } from '../engine/parallel.js';
import type { CausalLM } from '../model/causal-lm.js';
import { type DistributionOptions, checkDistributionOptions } from '../model/logits.js';
import { type TokenPair, pairLogProbs } from '../model/logprobs.js';
import { type Replica, runSharded, shardCount } from './replica.js';

export interface LogprobShard {
  pairs: TokenPair[];
  padId: number;
  role: string;
  dist: DistributionOptions;
}

/** Per-thread part: log p(completion token | prefix) for each pair. */
export function logprobShard(r: Replica, s: LogprobShard): number[][] {
  return pairLogProbs(r.models[s.role], s.pairs, s.padId, s.dist);
}

export interface LogProbOptions {
  /** The sampling temperature the completions were drawn at (default 1). */
  temperature?: number;
  /** Ids at or above this get no probability: the tokenizer's vocabulary (default: the model's). */
  vocabSize?: number;
  /** Pairs per forward pass on each thread (default 16). */
  batchSize?: number;
  /**
   * Most tokens (pairs × padded length) per forward pass on each thread (default 2048): fewer pairs of long
   * sequences, as a scoring forward holds every layer's activations (~1 MB a token at 135M parameters).
   */
  maxTokens?: number;
}

/** Default token budget of one forward pass (see LogProbOptions.maxTokens). */
export const DEFAULT_MAX_TOKENS = 2048;

/** Consecutive runs of pairs with at most batchSize pairs and maxTokens padded tokens each (≥ 1 pair). */
function batchesOf(pairs: TokenPair[], batchSize: number, maxTokens: number): TokenPair[][] {
  const out: TokenPair[][] = [];
  let cur: TokenPair[] = [],
    longest = 0;
  for (const p of pairs) {
    // completionBatch's padded length: prompt + completion − 1, rounded up to a multiple of 4.
    const padded = (Math.max(1, p.prompt.length + p.completion.length - 1) + 3) & ~3;
    if (cur.length && (cur.length >= batchSize || (cur.length + 1) * Math.max(longest, padded) > maxTokens)) {
      out.push(cur);
      cur = [];
      longest = 0;
    }
    cur.push(p);
    longest = Math.max(longest, padded);
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Per-token log-probabilities of each completion under the model (no gradients), in the distribution
 * the sampler draws from: softmax(logits / temperature) over ids below vocabSize (see model/logits.ts).
 */
export function completionLogProbs(
  model: CausalLM,
  pairs: TokenPair[],
  padId: number,
  opts: LogProbOptions = {},
): number[][] {
  const dist = { temperature: opts.temperature ?? 1, vocabSize: opts.vocabSize ?? model.config.vocabSize };
  checkDistributionOptions(dist);
  const batchSize = opts.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
  const maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!(Number.isInteger(maxTokens) && maxTokens > 0))
    throw new Error(`maxTokens must be a positive integer, got ${opts.maxTokens}`);
  const out: number[][] = [];
  const threads = shardCount();
  const replica = { models: { policy: model }, heads: {} };
  const batches = batchesOf(pairs, batchSize, maxTokens);
  for (let i = 0; i < batches.length; i += threads) {
    const shards = batches.slice(i, i + threads).map((part) => ({ pairs: part, padId, role: 'policy', dist }));
    for (const r of runSharded(replica, logprobKernel, shards)) out.push(...r);
  }
  return out;
}

const logprobKernel = defineKernel(import.meta.url, { logprobShard });
