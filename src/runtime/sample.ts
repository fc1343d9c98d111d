// Sampling split across the worker pool: each thread samples its share of the prompts with the
// single-thread sampler (model/sample.ts), so the tokens are those of one thread.

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

/**
 * Samples continuations of each prompt (token ids), the prompts split across the threads of the
 * worker pool when there is one. Row i's sample depends only on the seed and i (see sampleSequences).
 */
export function generate(model: CausalLM, prompts: number[][], opts: SampleOptions): Generation[] {
  validateSampleOptions(opts);
  const n = Math.min(shardCount(), prompts.length);
  if (n <= 1) return sampleSequences(model, prompts, opts);
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
