// The step GRPO and RLOO run on every thread (engine/parallel.ts): the policy's log-probs of its sampled
// completions at the sampling temperature, on the (P, Tc) grid of completion tokens, then the algorithm's
// loss (src/objectives/grpo.ts, rloo.ts), backward into the replica's gradients scaled by the shard's share
// of the batch. It answers sums, so that shards and micro-batches add up to the batch's statistics.

import { Graph } from '../engine/graph.js';
import { reshape, selectRows } from '../engine/ops/elementwise.js';
import { defineKernel } from '../engine/parallel.js';
import type { Tensor } from '../engine/tensor.js';
import { headLogProbsAndEntropy } from '../model/lm-head.js';
import { completionBatch } from '../model/logprobs.js';
import { type GRPOLossOptions, grpoLoss } from '../objectives/grpo.js';
import { type RLOOLossOptions, rlooLoss } from '../objectives/rloo.js';
import type { Replica } from '../runtime/replica.js';
import { type RolloutShard, completionRows } from './kernels.js';

export interface PolicyGradientShard extends RolloutShard {
  /** The loss: GRPO's token-level one or RLOO's sequence-level one, with its options. */
  objective: { grpo: GRPOLossOptions } | { rloo: RLOOLossOptions };
  /** (P) one advantage per completion. */
  advantages: Float32Array;
  /** (P·Tc) 1 on completion tokens. */
  mask: Float32Array;
  /** (P·Tc) log-probs at sampling; null = the policy's own, detached (one update per batch: ratio 1). */
  oldLogp: Float32Array | null;
  /** (P·Tc) the reference's log-probs; null without a KL. */
  refLogp: Float32Array | null;
  /** This shard's share of the batch's loss (objectives' shardShare). */
  weight: number;
}

/** Sums over a shard's completions, to be added up over shards and divided by the batch's counts. */
export interface PolicyGradientSums {
  /** The shard's loss times its weight: the shards' add up to the batch's loss. */
  loss: number;
  /** Σ k3 over valid tokens (0 without a reference). */
  kl: number;
  /** Σ of the next-token distributions' entropies over valid tokens. */
  entropy: number;
  /** Clipped units (tokens for GRPO, sequences for RLOO, as TRL counts them) on the low and the high side. */
  clipLow: number;
  clipHigh: number;
  clipUnits: number;
  tokens: number;
}

export function policyGradientStep(r: Replica, s: PolicyGradientShard): PolicyGradientSums {
  const g = new Graph();
  const P = s.pairs.length;
  const { ids, targets, B, T } = completionBatch(s.pairs, s.padId);
  const model = r.models.policy;
  // Entropy comes with the log-probs from the same pass over the head: a metric at no extra cost.
  const head = headLogProbsAndEntropy(g, model, model.hidden(g, ids, B, T), targets, s);
  const rows = completionRows(s.pairs, T, s.Tc);
  const grid = (x: Tensor) => reshape(g, selectRows(g, reshape(g, x, [x.size, 1]), rows), [rows.length]);
  const logp = grid(head.logp); // (P·Tc)
  const x = { advantages: s.advantages, mask: s.mask, oldLogp: s.oldLogp, refLogp: s.refLogp };
  let tokens = 0,
    entropy = 0;
  for (let i = 0; i < s.mask.length; i++) {
    tokens += s.mask[i];
    if (s.mask[i]) entropy += head.entropy.data[rows[i]];
  }
  let out: PolicyGradientSums;
  if ('grpo' in s.objective) {
    const { loss, stats } = grpoLoss(g, logp, x, P, s.Tc, s.objective.grpo);
    g.backward(loss, s.weight);
    out = {
      loss: loss.item() * s.weight,
      kl: stats.kl * tokens,
      entropy,
      clipLow: stats['clip_ratio/low_mean'] * tokens,
      clipHigh: stats['clip_ratio/high_mean'] * tokens,
      clipUnits: tokens,
      tokens,
    };
  } else {
    const { loss, stats } = rlooLoss(g, logp, x, P, s.Tc, s.objective.rloo);
    g.backward(loss, s.weight);
    out = {
      loss: loss.item() * s.weight,
      kl: stats.kl * tokens,
      entropy,
      clipLow: stats['clip_ratio/low_mean'] * P,
      clipHigh: stats['clip_ratio/high_mean'] * P,
      clipUnits: P,
      tokens,
    };
  }
  g.dispose();
  return out;
}

export const policyGradientKernel = defineKernel(import.meta.url, { policyGradientStep });
