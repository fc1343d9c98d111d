// GRPO (Shao et al., 2024, DeepSeekMath) as TRL's GRPOTrainer computes it: G completions of each prompt,
// advantages normalized within each group, PPO's clipped ratio on every completion token, and the k3 KL
// estimator to the reference added to each token's loss with coefficient β:
//   A_i      = (r_i − mean(r_group)) / (std(r_group) + 1e-4)       (scale 'none': no division, Dr. GRPO)
//   ratio    = exp(logp − logp_old)                                 (logp_old = logp, detached, when μ = 1)
//   ℓ_t      = −min(ratio·A, clip(ratio, 1 − ε_low, 1 + ε_high)·A) + β·k3,  k3 = e^(ref − logp) − (ref − logp) − 1
// and the token losses aggregated as the loss type says (see aggregationWeights). Grids are (B·T)
// row-major, B completions of T tokens; masks hold 1 on a completion token.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import { assertLength, countValid } from './masked.js';

export const GRPO_LOSS_TYPES = ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const;
export type GRPOLossType = (typeof GRPO_LOSS_TYPES)[number];

export const SCALE_REWARDS = ['group', 'batch', 'none'] as const;
export type ScaleRewards = (typeof SCALE_REWARDS)[number];

/** TRL's epsilon in the advantage's denominator, and torch.isclose's tolerance for a zero std. */
const STD_EPS = 1e-4;
const ZERO_STD = 1e-8;

// ---- statistics ----

export function meanOf(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Standard deviation with Bessel's correction (TRL's nanstd, torch.std); NaN for fewer than 2 values. */
export function unbiasedStd(xs: ArrayLike<number>): number {
  if (xs.length < 2) return NaN;
  const m = meanOf(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

// ---- advantages ----

export interface GroupAdvantages {
  /** (N) one per completion. */
  advantages: Float32Array;
  /** Fraction of completions whose group's rewards all agree (std 0: no learning signal). */
  fracZeroStd: number;
}

/**
 * rewards (N = groups·G, the G completions of a prompt side by side) → advantages (N). 'group' divides by
 * each group's std, 'batch' by the whole batch's, 'none' not at all (Dr. GRPO: the std favours prompts that
 * are too easy or too hard). The std that decides fracZeroStd is the one that would divide.
 */
export function groupAdvantages(rewards: ArrayLike<number>, G: number, scale: ScaleRewards): GroupAdvantages {
  const N = rewards.length;
  if (!Number.isInteger(G) || G < 2) throw new Error(`groupAdvantages: G must be an integer ≥ 2, got ${G}`);
  if (N % G !== 0) throw new Error(`groupAdvantages: ${N} rewards are not whole groups of G = ${G}`);
  const batchStd = unbiasedStd(rewards);
  const advantages = new Float32Array(N);
  let zero = 0;
  for (let g0 = 0; g0 < N; g0 += G) {
    const group = Array.from({ length: G }, (_, j) => rewards[g0 + j]);
    const m = meanOf(group);
    const std = scale === 'batch' ? batchStd : unbiasedStd(group);
    if (Math.abs(std) <= ZERO_STD) zero += G;
    for (let j = 0; j < G; j++) {
      const a = group[j] - m;
      advantages[g0 + j] = scale === 'none' ? a : a / (std + STD_EPS);
    }
  }
  return { advantages, fracZeroStd: zero / N };
}

// ---- aggregation ----

/**
 * Each token's weight in the loss (B·T), so that the loss is one dot product with the token losses:
 *   grpo      mean over each sequence's tokens, then over the sequences (favours short right answers)
 *   bnpo/dapo mean over all the batch's tokens (DAPO: each token counts the same)
 *   dr_grpo   sum over all tokens / (B · maxCompletionLength), a constant (Dr. GRPO)
 * NOTE: TRL's bnpo divides by a micro-batch's tokens and dapo by the whole accumulated batch's; one
 * optimizer step here is one batch, so the two are the same.
 */
export function aggregationWeights(
  mask: ArrayLike<number>,
  B: number,
  T: number,
  lossType: GRPOLossType,
  maxCompletionLength: number,
): Float32Array {
  const total = countValid('aggregationWeights', mask, B * T);
  const w = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) n += mask[b * T + t];
    const denom =
      lossType === 'grpo' ? B * Math.max(1, n) : lossType === 'dr_grpo' ? B * maxCompletionLength : Math.max(1, total);
    for (let t = 0; t < T; t++) w[b * T + t] = mask[b * T + t] / denom;
  }
  return w;
}

/**
 * A shard's share of a batch's loss, when threads each take some sequences and compute the loss of their
 * own as if it were the batch: sequences for grpo and dr_grpo (means and sums over sequences), tokens
 * for bnpo/dapo (a mean over tokens).
 */
export function shardShare(
  lossType: GRPOLossType,
  part: { sequences: number; tokens: number },
  whole: { sequences: number; tokens: number },
): number {
  // A batch with no token in the loss (every completion left out) weighs nothing: its loss is 0.
  if (lossType === 'bnpo' || lossType === 'dapo') return whole.tokens > 0 ? part.tokens / whole.tokens : 0;
  return part.sequences / whole.sequences;
}

// ---- the loss ----

export interface ClipOptions {
  /** Ratios are clipped to [1 − epsilonLow, 1 + epsilonHigh] (DAPO's clip-higher: epsilonHigh > epsilonLow). */
  epsilonLow: number;
  epsilonHigh: number;
}

export interface GRPOLossOptions extends ClipOptions {
  /** Weight of the k3 KL to the reference in each token's loss (0: no reference needed). */
  beta: number;
  lossType: GRPOLossType;
  /** dr_grpo's normalizer: the configured longest completion, not this batch's. */
  maxCompletionLength: number;
}

/** Token means over the valid tokens of the batch (TRL's metric names). */
export interface ClipStats {
  'clip_ratio/low_mean': number;
  'clip_ratio/high_mean': number;
  'clip_ratio/region_mean': number;
}

export interface GRPOStats extends ClipStats {
  /** Token mean of k3 to the reference (0 without one). */
  kl: number;
  /** Valid tokens, to combine the means of several shards. */
  tokens: number;
}

/** The arrays a loss reads besides the policy's log-probs: all constants. */
export interface PolicyGradientInputs {
  /** (B) one advantage per completion. */
  advantages: ArrayLike<number>;
  /** (B·T) 1 on completion tokens. */
  mask: ArrayLike<number>;
  /** (B·T) log-probs when the completions were sampled; null = the policy's own, detached (μ = 1: ratio 1). */
  oldLogp: ArrayLike<number> | null;
  /** (B·T) the reference's log-probs; null when β = 0. */
  refLogp: ArrayLike<number> | null;
}

/** x at valid positions, `fill` (the policy's own log-prob) elsewhere, so junk there cannot make NaN. */
function validOr(x: ArrayLike<number>, mask: ArrayLike<number>, fill: Float32Array): Float32Array {
  return Float32Array.from(x, (v, i) => (mask[i] ? v : fill[i]));
}

/**
 * Checks the grids of a policy-gradient loss of B completions of T tokens: logp, oldLogp and refLogp (B·T),
 * advantages (B). `fn` names the loss in the message.
 */
export function assertPolicyGradientInputs(fn: string, logp: Tensor, x: PolicyGradientInputs, B: number, T: number) {
  const n = B * T;
  assertLength(fn, 'logp', logp.data, n);
  assertLength(fn, 'advantages', x.advantages, B);
  if (x.oldLogp) assertLength(fn, 'oldLogp', x.oldLogp, n);
  if (x.refLogp) assertLength(fn, 'refLogp', x.refLogp, n);
}

/**
 * k3 to the reference on every token (B·T), with gradients through logp, and its sum over the completion
 * tokens of `mask` (padded positions compare logp with itself: 0).
 */
export function referenceK3(
  g: Graph,
  logp: Tensor,
  refLogp: ArrayLike<number>,
  mask: ArrayLike<number>,
): { k3: Tensor; sum: number } {
  const k3 = k3Tokens(g, logp, validOr(refLogp, mask, logp.data));
  let sum = 0;
  for (let i = 0; i < k3.size; i++) if (mask[i]) sum += k3.data[i];
  return { k3, sum };
}

/** exp(ref − logp) − (ref − logp) − 1 per token, with gradients through logp: (B·T) → (B·T). */
export function k3Tokens(g: Graph, logp: Tensor, ref: Float32Array): Tensor {
  const logRatio = ops.sub(g, new Tensor(ref, logp.shape), logp);
  return ops.affine(g, ops.sub(g, ops.exp(g, logRatio), logRatio), 1, -1);
}

/**
 * The clipped surrogate −min(ratio·A, clip(ratio)·A) of each entry of `ratio` (N), weighted by `w` and
 * summed, as a scalar tensor. Where the clipped term is the min its gradient is 0 (clip's, outside its
 * range), so that entry adds a constant; elsewhere (ties included: torch splits a tie's gradient between
 * two terms that both pass it) the gradient is −A·ratio. Counts the clipped entries as TRL does.
 */
export function clippedSurrogate(
  g: Graph,
  ratio: Tensor,
  adv: (i: number) => number,
  w: ArrayLike<number>,
  valid: ArrayLike<number>,
  o: ClipOptions,
): { loss: Tensor; low: number; high: number; count: number } {
  const n = ratio.size;
  const coef = new Float32Array(n);
  let constant = 0,
    low = 0,
    high = 0,
    count = 0;
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue;
    const r = ratio.data[i],
      a = adv(i);
    const clipped = Math.min(1 + o.epsilonHigh, Math.max(1 - o.epsilonLow, r));
    if (clipped * a < r * a) constant -= w[i] * clipped * a;
    else coef[i] = -a * w[i];
    if (r < 1 - o.epsilonLow && a < 0) low++;
    if (r > 1 + o.epsilonHigh && a > 0) high++;
    count++;
  }
  return { loss: ops.affine(g, ops.dot(g, ratio, coef), 1, constant), low, high, count };
}

/** The shares of `count` entries clipped below, above and either way, as TRL logs them. */
export function clipRatios(low: number, high: number, count: number): ClipStats {
  return {
    'clip_ratio/low_mean': low / count,
    'clip_ratio/high_mean': high / count,
    'clip_ratio/region_mean': (low + high) / count,
  };
}

/**
 * GRPO's loss of B completions: logp (B·T), the policy's log-probs of the sampled tokens (at the sampling
 * temperature), with gradients. Returns the scalar loss and its statistics.
 */
export function grpoLoss(
  g: Graph,
  logp: Tensor,
  x: PolicyGradientInputs,
  B: number,
  T: number,
  o: GRPOLossOptions,
): { loss: Tensor; stats: GRPOStats } {
  assertPolicyGradientInputs('grpoLoss', logp, x, B, T);
  if (o.beta !== 0 && !x.refLogp) throw new Error(`grpoLoss: beta is ${o.beta} but no reference log-probs were given`);
  const w = aggregationWeights(x.mask, B, T, o.lossType, o.maxCompletionLength);
  const old = x.oldLogp ? validOr(x.oldLogp, x.mask, logp.data) : Float32Array.from(logp.data);
  const ratio = ops.exp(g, ops.sub(g, logp, new Tensor(old, logp.shape))); // (B·T)
  const pg = clippedSurrogate(g, ratio, (i) => x.advantages[Math.floor(i / T)], w, x.mask, o);
  let loss = pg.loss,
    kl = 0;
  if (o.beta !== 0 || x.refLogp) {
    const { k3, sum } = referenceK3(g, logp, x.refLogp!, x.mask);
    kl = sum / Math.max(1, pg.count);
    if (o.beta !== 0)
      loss = ops.add(
        g,
        loss,
        ops.dot(
          g,
          k3,
          w.map((v) => o.beta * v),
        ),
      );
  }
  const c = Math.max(1, pg.count);
  return {
    loss,
    stats: {
      kl,
      ...clipRatios(pg.low, pg.high, c),
      tokens: pg.count,
    },
  };
}
