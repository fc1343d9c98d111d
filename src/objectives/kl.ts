// KL divergence to the reference policy, per token, as RLHF uses it (Stiennon et al., Ziegler et al.):
// the reward of PPO carries a penalty −β·(log π(y_t) − log π_ref(y_t)) on every completion token, and
// the batch KL is reported with Schulman's estimators ("Approximating KL divergence", 2020), for
// tokens sampled from the policy, with r = π_ref/π = exp(logp_ref − logp):
//   k1 = −log r = logp − logp_ref    unbiased, high variance, can be negative
//   k2 = ½ (log r)²                  biased, low variance (lm-human-preferences' approxkl)
//   k3 = (r − 1) − log r             unbiased, low variance, never negative
// All inputs are (B·T) per-token log-probs; masks are 1 on completion tokens (see masked.ts).

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import { assertLength, countValid, meanWeights, tokenMean } from './masked.js';

// ---- the per-token penalty and the rewards of PPO ----

/** −β·(logp − logpRef) on valid tokens, 0 elsewhere: (B·T) → (B·T). */
export function klPenalty(
  logp: ArrayLike<number>,
  logpRef: ArrayLike<number>,
  mask: ArrayLike<number>,
  beta: number,
): Float32Array {
  const n = logp.length;
  assertLength('klPenalty', 'logpRef', logpRef, n);
  countValid('klPenalty', mask, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) if (mask[i]) out[i] = -beta * (logp[i] - logpRef[i]);
  return out;
}

/**
 * The per-token rewards of RLHF's PPO (B·T): the KL penalty on every valid token, plus each
 * sequence's score (B) on its last valid token, as in lm-human-preferences and TRL.
 */
export function tokenRewards(
  scores: ArrayLike<number>,
  logp: ArrayLike<number>,
  logpRef: ArrayLike<number>,
  mask: ArrayLike<number>,
  B: number,
  T: number,
  beta: number,
): Float32Array {
  assertLength('tokenRewards', 'scores', scores, B);
  assertLength('tokenRewards', 'logp', logp, B * T);
  const rewards = klPenalty(logp, logpRef, mask, beta);
  for (let b = 0; b < B; b++) {
    let last = -1;
    for (let t = 0; t < T; t++) if (mask[b * T + t]) last = t;
    if (last < 0)
      throw new Error(
        `tokenRewards: sequence ${b} has no valid token to carry its score; every completion needs at least one ` +
          `token (e.g. end-of-text)`,
      );
    rewards[b * T + last] += scores[b];
  }
  return rewards;
}

// ---- estimators on plain numbers (metrics such as objective/kl) ----

function maskedEstimate(
  op: string,
  logp: ArrayLike<number>,
  logpRef: ArrayLike<number>,
  mask: ArrayLike<number>,
  k: (logRatio: number) => number,
): number {
  assertLength(op, 'logpRef', logpRef, logp.length);
  const w = meanWeights(op, mask, logp.length);
  let s = 0;
  for (let i = 0; i < logp.length; i++) if (w[i]) s += w[i] * k(logpRef[i] - logp[i]);
  return s;
}

/** Masked mean of k1 = logp − logpRef over valid tokens: (B·T) → number. */
export function klK1(logp: ArrayLike<number>, logpRef: ArrayLike<number>, mask: ArrayLike<number>): number {
  return maskedEstimate('klK1', logp, logpRef, mask, (lr) => -lr);
}

/** Masked mean of k2 = ½(logp − logpRef)²: (B·T) → number. */
export function klK2(logp: ArrayLike<number>, logpRef: ArrayLike<number>, mask: ArrayLike<number>): number {
  return maskedEstimate('klK2', logp, logpRef, mask, (lr) => 0.5 * lr * lr);
}

/** Masked mean of k3 = (r − 1) − log r, r = exp(logpRef − logp): (B·T) → number. */
export function klK3(logp: ArrayLike<number>, logpRef: ArrayLike<number>, mask: ArrayLike<number>): number {
  // expm1 keeps r − 1 accurate when the policies are close (r ≈ 1), which is the usual case.
  return maskedEstimate('klK3', logp, logpRef, mask, (lr) => Math.expm1(lr) - lr);
}

// ---- the same estimators as losses (autograd through the policy's log-probs) ----

/** Masked mean of k1 as a scalar tensor; logp (B·T) from the policy, logpRef constant. */
export function klK1Loss(g: Graph, logp: Tensor, logpRef: ArrayLike<number>, mask: ArrayLike<number>): Tensor {
  assertLength('klK1Loss', 'logpRef', logpRef, logp.size);
  return tokenMean(g, ops.sub(g, logp, Tensor.from(logpRef)), mask);
}

/**
 * Masked mean of k3 as a scalar tensor (GRPO's KL term); d k3/d logp = 1 − r.
 * NOTE: r = exp(logpRef − logp) is float32 and overflows when the reference is ~88 nats likelier.
 */
export function klK3Loss(g: Graph, logp: Tensor, logpRef: ArrayLike<number>, mask: ArrayLike<number>): Tensor {
  assertLength('klK3Loss', 'logpRef', logpRef, logp.size);
  // Masked positions get ref = logp (r = 1), so junk there cannot overflow into a NaN gradient.
  const ref = Float32Array.from(logpRef, (r, i) => (mask[i] ? r : logp.data[i]));
  const logRatio = ops.sub(g, new Tensor(ref, logp.shape), logp); // log r
  const k3 = ops.affine(g, ops.sub(g, ops.exp(g, logRatio), logRatio), 1, -1); // r − log r − 1
  return tokenMean(g, k3, mask);
}
