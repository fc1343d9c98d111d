// GRPO's and RLOO's last phase: μ optimizer updates of the shared loop (src/train/loop.ts) on one batch
// of completions. Each update runs the whole batch in micro-batches split across threads, each shard's
// loss scaled by its share of the batch's, so the gradients add up to the batch's loss exactly.

import { evenSplit } from '../engine/split.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { type Replica, runSharded, shardCount } from '../runtime/replica.js';
import type { TrainingRun } from './loop.js';
import type { PolicyGradientOptions } from './policy-gradient-config.js';
import { type PolicyGradientShard, type PolicyGradientSums, policyGradientKernel } from './policy-gradient-kernels.js';
import type { GroupRollouts } from './policy-gradient-rollouts.js';

/** A batch's counts: how a shard's share of the loss is measured. */
export interface BatchCounts {
  sequences: number;
  tokens: number;
}

export interface UpdateInputs {
  roll: Pick<GroupRollouts, 'pairs' | 'Tc' | 'mask'>;
  /** (N) one advantage per completion. */
  advantages: Float32Array;
  /** (N·Tc) log-probs at sampling (needed when μ > 1), or null: the policy's own, detached. */
  oldLogp: Float32Array | null;
  /** (N·Tc) the reference's, or null. */
  refLogp: Float32Array | null;
}

export interface UpdateOptions extends Pick<PolicyGradientOptions, 'numIterations' | 'microBatch' | 'temperature'> {
  objective: PolicyGradientShard['objective'];
  /** A part's share of the whole batch's loss (objectives/grpo.ts shardShare, or sequences for RLOO). */
  share(part: BatchCounts, whole: BatchCounts): number;
}

export interface UpdateStats {
  /** Means over the μ updates of: the loss, and the token means of KL and entropy, and the clip ratios. */
  loss: number;
  kl: number;
  entropy: number;
  'clip_ratio/low_mean': number;
  'clip_ratio/high_mean': number;
  'clip_ratio/region_mean': number;
  /** Learning rate of the last update, mean gradient norm before clipping. */
  lr: number;
  gradNorm: number;
}

/** Rows [from, to) of a (N·Tc) grid. */
function rowsOf(a: Float32Array, from: number, to: number, Tc: number): Float32Array {
  return a.slice(from * Tc, to * Tc);
}

/** The micro-batches and shards of one update: consecutive rows, each micro-batch split across threads. */
function shardsOf(x: UpdateInputs, o: UpdateOptions, tok: Pick<Tokenizer, 'eosId' | 'vocabSize'>) {
  const { pairs, Tc, mask } = x.roll;
  const N = pairs.length;
  const tokensIn = (from: number, to: number) => {
    let n = 0;
    for (let i = from * Tc; i < to * Tc; i++) n += mask[i];
    return n;
  };
  const whole = { sequences: N, tokens: tokensIn(0, N) };
  const M = o.microBatch || N;
  const micro: PolicyGradientShard[][] = [];
  for (let m = 0; m < N; m += M) {
    const end = Math.min(N, m + M);
    micro.push(
      evenSplit(end - m, Math.min(shardCount(), end - m)).map(([a, b]) => {
        const [from, to] = [m + a, m + b];
        return {
          pairs: pairs.slice(from, to),
          padId: tok.eosId,
          Tc,
          temperature: o.temperature,
          vocabSize: tok.vocabSize,
          objective: o.objective,
          advantages: x.advantages.slice(from, to),
          mask: rowsOf(mask, from, to, Tc),
          oldLogp: x.oldLogp && rowsOf(x.oldLogp, from, to, Tc),
          refLogp: x.refLogp && rowsOf(x.refLogp, from, to, Tc),
          weight: o.share({ sequences: to - from, tokens: tokensIn(from, to) }, whole),
        };
      }),
    );
  }
  return micro;
}

/**
 * The μ updates of one batch; `step` is the loop's index of the first. Throws when the loss is not finite.
 */
export function updatePolicy(
  run: TrainingRun,
  replica: Replica,
  x: UpdateInputs,
  o: UpdateOptions,
  tok: Pick<Tokenizer, 'eosId' | 'vocabSize'>,
  step: number,
): UpdateStats {
  const micro = shardsOf(x, o, tok);
  const stats: UpdateStats = {
    loss: 0,
    kl: 0,
    entropy: 0,
    'clip_ratio/low_mean': 0,
    'clip_ratio/high_mean': 0,
    'clip_ratio/region_mean': 0,
    lr: 0,
    gradNorm: 0,
  };
  const mu = o.numIterations;
  for (let i = 0; i < mu; i++) {
    run.opt.zeroGrad();
    const sums: PolicyGradientSums = { loss: 0, kl: 0, entropy: 0, clipLow: 0, clipHigh: 0, clipUnits: 0, tokens: 0 };
    for (const shards of micro)
      for (const r of runSharded(replica, policyGradientKernel, shards))
        for (const k of Object.keys(sums) as (keyof PolicyGradientSums)[]) sums[k] += r[k];
    if (!Number.isFinite(sums.loss))
      throw new Error(
        `training diverged at update ${step + i}: loss is ${sums.loss}. HINT: lower --lr (now ${run.cfg.lr}) or ` +
          'keep --grad-clip on',
      );
    const u = run.update(step + i);
    stats.lr = u.lr;
    stats.gradNorm += u.gradNorm / mu;
    stats.loss += sums.loss / mu;
    stats.kl += sums.kl / sums.tokens / mu;
    stats.entropy += sums.entropy / sums.tokens / mu;
    stats['clip_ratio/low_mean'] += sums.clipLow / sums.clipUnits / mu;
    stats['clip_ratio/high_mean'] += sums.clipHigh / sums.clipUnits / mu;
    stats['clip_ratio/region_mean'] += (sums.clipLow + sums.clipHigh) / sums.clipUnits / mu;
  }
  return stats;
}
