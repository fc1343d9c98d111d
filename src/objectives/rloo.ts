// RLOO (Ahmadian et al., 2024; Kool et al., 2019) as TRL's RLOOTrainer computes it: k completions of
// each prompt, each one's baseline the mean reward of the other k − 1, and REINFORCE on whole sequences
// with PPO's clipped ratio of sequence probabilities:
//   A_i   = r_i − (Σ_group r − r_i) / (k − 1)
//   ratio = exp(Σ_t logp − Σ_t logp_old)                          (1 when μ = 1)
//   loss  = mean_i −min(ratio·A_i, clip(ratio, 1 − ε_low, 1 + ε_high)·A_i)
// The KL to the reference either enters the reward (TRL's and the paper's way: r − β·Σ_t (logp_old − ref),
// the sequence's k1 at sampling time) or the loss (β·Σ_t k3 of each sequence, averaged over sequences,
// with gradients through the policy). Grids are (B·T) row-major; masks hold 1 on a completion token.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import {
  type ClipOptions,
  type ClipStats,
  type PolicyGradientInputs,
  assertPolicyGradientInputs,
  clipRatios,
  clippedSurrogate,
  referenceK3,
  meanOf,
  unbiasedStd,
} from './grpo.js';
import { assertLength, countValid } from './masked.js';
import { sequenceLogProbs } from './sequence-logprobs.js';

export const KL_PLACEMENTS = ['reward', 'loss'] as const;
export type KLPlacement = (typeof KL_PLACEMENTS)[number];

/**
 * rewards (N = groups·k, a prompt's k completions side by side) → leave-one-out advantages (N). With
 * `normalize`, the advantages are then whitened over the batch (mean 0, unbiased std 1, + 1e-4).
 */
export function leaveOneOutAdvantages(rewards: ArrayLike<number>, k: number, normalize = false): Float32Array {
  const N = rewards.length;
  if (!Number.isInteger(k) || k < 2) throw new Error(`leaveOneOutAdvantages: k must be an integer ≥ 2, got ${k}`);
  if (N % k !== 0) throw new Error(`leaveOneOutAdvantages: ${N} rewards are not whole groups of k = ${k}`);
  const adv = new Float32Array(N);
  for (let g0 = 0; g0 < N; g0 += k) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += rewards[g0 + j];
    for (let j = 0; j < k; j++) adv[g0 + j] = rewards[g0 + j] - (sum - rewards[g0 + j]) / (k - 1);
  }
  if (!normalize) return adv;
  const m = meanOf(adv),
    s = unbiasedStd(adv);
  return adv.map((a) => (a - m) / (s + 1e-4));
}

/** Each sequence's k1 KL at sampling time, Σ_t (logp_old − ref) over its valid tokens: (B·T) → (B). */
export function sequenceKL(
  oldLogp: ArrayLike<number>,
  refLogp: ArrayLike<number>,
  mask: ArrayLike<number>,
  B: number,
  T: number,
): number[] {
  assertLength('sequenceKL', 'oldLogp', oldLogp, B * T);
  assertLength('sequenceKL', 'refLogp', refLogp, B * T);
  countValid('sequenceKL', mask, B * T);
  return Array.from({ length: B }, (_, b) => {
    let s = 0;
    for (let t = b * T; t < (b + 1) * T; t++) if (mask[t]) s += oldLogp[t] - refLogp[t];
    return s;
  });
}

/** The rewards with the KL penalty in them: r_i − β·KL_i (both (B)). */
export function penalizedRewards(rewards: ArrayLike<number>, kl: ArrayLike<number>, beta: number): number[] {
  assertLength('penalizedRewards', 'kl', kl, rewards.length);
  return Array.from(rewards, (r, i) => r - beta * kl[i]);
}

/** Σ_t x over each row's valid tokens: (B·T) → (B). */
function rowSums(x: ArrayLike<number>, mask: ArrayLike<number>, B: number, T: number): Float32Array {
  const out = new Float32Array(B);
  for (let b = 0; b < B; b++) for (let t = b * T; t < (b + 1) * T; t++) if (mask[t]) out[b] += x[t];
  return out;
}

export interface RLOOLossOptions extends ClipOptions {
  /** Weight of each sequence's Σ_t k3 in the loss (0: the KL is in the reward, or nowhere). */
  klLossCoef: number;
}

export interface RLOOStats extends ClipStats {
  /** Token mean of k3 to the reference, when it is given (the KL in the loss). */
  kl: number;
  /** Sequences in these means, to combine several shards' (clip ratios are over sequences, as TRL's). */
  sequences: number;
  tokens: number;
}

/**
 * RLOO's loss of B completions: logp (B·T), the policy's log-probs of the sampled tokens (at the sampling
 * temperature), with gradients. Every sequence needs a valid token.
 */
export function rlooLoss(
  g: Graph,
  logp: Tensor,
  x: PolicyGradientInputs,
  B: number,
  T: number,
  o: RLOOLossOptions,
): { loss: Tensor; stats: RLOOStats } {
  const n = B * T;
  assertPolicyGradientInputs('rlooLoss', logp, x, B, T);
  if (o.klLossCoef !== 0 && !x.refLogp)
    throw new Error(`rlooLoss: klLossCoef is ${o.klLossCoef} but no reference log-probs were given`);
  const seq = sequenceLogProbs(g, logp, x.mask, B, T); // (B)
  const oldSeq = x.oldLogp ? rowSums(x.oldLogp, x.mask, B, T) : Float32Array.from(seq.data);
  const ratio = ops.exp(g, ops.sub(g, seq, new Tensor(oldSeq, seq.shape))); // (B)
  const w = new Float32Array(B).fill(1 / B);
  const pg = clippedSurrogate(g, ratio, (b) => x.advantages[b], w, new Float32Array(B).fill(1), o);
  let loss = pg.loss,
    kl = 0,
    tokens = 0;
  for (let i = 0; i < n; i++) tokens += x.mask[i];
  if (x.refLogp) {
    const { k3, sum } = referenceK3(g, logp, x.refLogp, x.mask);
    kl = sum / Math.max(1, tokens);
    if (o.klLossCoef !== 0)
      loss = ops.add(
        g,
        loss,
        ops.dot(
          g,
          k3,
          Float32Array.from(x.mask, (m) => (m * o.klLossCoef) / B),
        ),
      );
  }
  return {
    loss,
    stats: {
      kl,
      ...clipRatios(pg.low, pg.high, B),
      sequences: B,
      tokens,
    },
  };
}
