// Per-token log-probabilities of completions, batched and split across the worker pool.

import { defineKernel } from '../engine/parallel.js';
import type { GPT } from '../model/gpt.js';
import { type TokenPair, pairLogProbs } from '../model/logprobs.js';
import { type Replica, runSharded, shardCount } from './replica.js';

export interface LogprobShard {
  pairs: TokenPair[];
  padId: number;
  role: string;
}

/** Per-thread part: log p(completion token | prefix) for each pair. */
export function logprobShard(r: Replica, s: LogprobShard): number[][] {
  return pairLogProbs(r.models[s.role], s.pairs, s.padId);
}

/** Per-token log-probabilities of each completion under the model (no gradients). */
export function completionLogProbs(model: GPT, pairs: TokenPair[], padId: number, batchSize = 16): number[][] {
  const out: number[][] = [];
  const threads = shardCount();
  const replica = { models: { policy: model }, heads: {} };
  for (let i = 0; i < pairs.length; i += batchSize * threads) {
    const shards: LogprobShard[] = [];
    for (let k = 0; k < threads; k++) {
      const part = pairs.slice(i + k * batchSize, i + (k + 1) * batchSize);
      if (part.length) shards.push({ pairs: part, padId, role: 'policy' });
    }
    for (const r of runSharded(replica, logprobKernel, shards)) out.push(...r);
  }
  return out;
}

const logprobKernel = defineKernel(import.meta.url, { logprobShard });
