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
  const out: number[][] = [];
  const threads = shardCount();
  const replica = { models: { policy: model }, heads: {} };
  for (let i = 0; i < pairs.length; i += batchSize * threads) {
    const shards: LogprobShard[] = [];
    for (let k = 0; k < threads; k++) {
      const part = pairs.slice(i + k * batchSize, i + (k + 1) * batchSize);
      if (part.length) shards.push({ pairs: part, padId, role: 'policy', dist });
    }
    for (const r of runSharded(replica, logprobKernel, shards)) out.push(...r);
  }
  return out;
}

const logprobKernel = defineKernel(import.meta.url, { logprobShard });
