// The clipped objectives of PPO (Schulman et al., 2017) on per-token quantities (B·T), as in
// lm-human-preferences and TRL: every mean is over all valid tokens of the batch (token-level).
//   policy: ratio = exp(logp − logp_old);  loss = mean max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε))
//   value:  loss = ½ mean max((v − R)², (clip(v, v_old−ε_v, v_old+ε_v) − R)²)
// The max is taken with masks computed from the forward values: where the clipped term wins, the
// token's loss is a constant (no gradient), exactly as autograd through torch.max/clamp gives.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import { assertLength, meanWeights, tokenMean } from './masked.js';

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

// ---- policy ----

export interface PPOPolicyStats {
  /** Fraction of valid tokens where the clipped term won (no gradient). */
  'ppo/clipfrac': number;
  /** ½·mean((logp − logp_old)²): Schulman's k2, as lm-human-preferences and TRL report it. */
  'ppo/approxkl': number;
  'ppo/policy/ratio_mean': number;
}

/**
 * logp (B·T): the policy's log-probs of the sampled tokens, with gradients; oldLogp, advantages,
 * mask (B·T): constants from the rollout. Returns the scalar loss and its statistics.
 */
export function ppoPolicyLoss(
  g: Graph,
  logp: Tensor,
  oldLogp: ArrayLike<number>,
  advantages: ArrayLike<number>,
  mask: ArrayLike<number>,
  clipRange = 0.2,
): { loss: Tensor; stats: PPOPolicyStats } {
  const n = logp.size;
  assertLength('ppoPolicyLoss', 'oldLogp', oldLogp, n);
  assertLength('ppoPolicyLoss', 'advantages', advantages, n);
  if (!(clipRange > 0)) throw new Error(`ppoPolicyLoss: clipRange must be > 0, got ${clipRange}`);
  const w = meanWeights('ppoPolicyLoss', mask, n);
  // NOTE: masked positions get old = logp (ratio 1), so junk there (−1e9 padding) cannot make 0·∞ = NaN.
  const old = Float32Array.from(oldLogp, (o, i) => (w[i] ? o : logp.data[i]));
  const ratio = ops.exp(g, ops.sub(g, logp, new Tensor(old, logp.shape))); // (B·T)
  const coef = new Float32Array(n); // −A·w where the unclipped term is the max, else 0
  let constant = 0,
    clipfrac = 0,
    approxkl = 0,
    ratioMean = 0;
  for (let i = 0; i < n; i++) {
    if (!w[i]) continue;
    const r = ratio.data[i],
      a = advantages[i];
    const unclipped = -a * r,
      clipped = -a * clamp(r, 1 - clipRange, 1 + clipRange);
    if (clipped > unclipped) {
      constant += w[i] * clipped;
      clipfrac += w[i];
    } else coef[i] = -a * w[i];
    approxkl += w[i] * 0.5 * (logp.data[i] - oldLogp[i]) ** 2;
    ratioMean += w[i] * r;
  }
  const loss = ops.affine(g, ops.dot(g, ratio, coef), 1, constant);
  return { loss, stats: { 'ppo/clipfrac': clipfrac, 'ppo/approxkl': approxkl, 'ppo/policy/ratio_mean': ratioMean } };
}

/** The policy loss on plain numbers with its gradient d loss/d logp (B·T): the test reference. */
export function ppoPolicy(
  logp: number[],
  oldLogp: number[],
  advantages: number[],
  mask: number[],
  clipRange = 0.2,
): { loss: number; dLogp: number[] } {
  const count = mask.reduce((s, m) => s + m, 0);
  let loss = 0;
  const dLogp = logp.map((lp, i) => {
    if (!mask[i]) return 0;
    const r = Math.exp(lp - oldLogp[i]),
      a = advantages[i];
    const unclipped = -a * r,
      clipped = -a * clamp(r, 1 - clipRange, 1 + clipRange);
    loss += Math.max(unclipped, clipped) / count;
    return clipped > unclipped ? 0 : (-a * r) / count; // d(−A·e^(logp − old))/d logp = −A·ratio
  });
  return { loss, dLogp };
}

// ---- value ----

export interface PPOValueStats {
  /** Fraction of valid tokens where the clipped value's error won (no gradient). */
  'ppo/val/clipfrac': number;
  /** mean((v − R)²) of the unclipped predictions. */
  'ppo/val/error': number;
  /** mean(v). */
  'ppo/val/vpred': number;
}

/**
 * values (B·T): the value head's predictions, with gradients; oldValues (from the rollout),
 * returns (from computeAdvantages), mask (B·T): constants. Returns the scalar loss and statistics.
 */
export function ppoValueLoss(
  g: Graph,
  values: Tensor,
  oldValues: ArrayLike<number>,
  returns: ArrayLike<number>,
  mask: ArrayLike<number>,
  clipRangeValue = 0.2,
): { loss: Tensor; stats: PPOValueStats } {
  const n = values.size;
  assertLength('ppoValueLoss', 'oldValues', oldValues, n);
  assertLength('ppoValueLoss', 'returns', returns, n);
  if (!(clipRangeValue > 0)) throw new Error(`ppoValueLoss: clipRangeValue must be > 0, got ${clipRangeValue}`);
  const w = meanWeights('ppoValueLoss', mask, n);
  const coef = new Float32Array(n); // ½·w where the unclipped error is the max, else 0
  let constant = 0,
    clipfrac = 0,
    error = 0,
    vpred = 0;
  for (let i = 0; i < n; i++) {
    if (!w[i]) continue;
    const v = values.data[i],
      R = returns[i];
    const unclipped = (v - R) ** 2;
    const clipped = (clamp(v, oldValues[i] - clipRangeValue, oldValues[i] + clipRangeValue) - R) ** 2;
    if (clipped > unclipped) {
      constant += 0.5 * w[i] * clipped;
      clipfrac += w[i];
    } else coef[i] = 0.5 * w[i];
    error += w[i] * unclipped;
    vpred += w[i] * v;
  }
  const target = Float32Array.from(returns, (r, i) => (w[i] ? r : values.data[i])); // masked: error 0
  const sq = ops.square(g, ops.sub(g, values, new Tensor(target, values.shape)));
  const loss = ops.affine(g, ops.dot(g, sq, coef), 1, constant);
  return { loss, stats: { 'ppo/val/clipfrac': clipfrac, 'ppo/val/error': error, 'ppo/val/vpred': vpred } };
}

/** The value loss on plain numbers with its gradient d loss/d v (B·T): the test reference. */
export function ppoValue(
  values: number[],
  oldValues: number[],
  returns: number[],
  mask: number[],
  clipRangeValue = 0.2,
): { loss: number; dValues: number[] } {
  const count = mask.reduce((s, m) => s + m, 0);
  let loss = 0;
  const dValues = values.map((v, i) => {
    if (!mask[i]) return 0;
    const R = returns[i];
    const unclipped = (v - R) ** 2;
    const clipped = (clamp(v, oldValues[i] - clipRangeValue, oldValues[i] + clipRangeValue) - R) ** 2;
    loss += (0.5 * Math.max(unclipped, clipped)) / count;
    return clipped > unclipped ? 0 : (v - R) / count; // d(½(v − R)²)/dv = v − R
  });
  return { loss, dValues };
}

// ---- entropy ----

/** Mean entropy of the policy's next-token distributions over valid tokens: logits (B·T, V) → scalar. */
export function meanEntropy(g: Graph, logits: Tensor, mask: ArrayLike<number>): Tensor {
  return tokenMean(g, ops.entropy(g, logits), mask);
}
