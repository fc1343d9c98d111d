// From a batch of scored rollouts to what PPO's minibatch epochs learn from, in the order of
// lm-human-preferences and TRL: score → penalty for an unfinished completion → clip → per-token KL penalty (the score
// on the last token) → optional whitening of the rewards → GAE → whitened advantages. The cut at a
// stop string happened before: it decides the last valid token of each row (the mask).

import { computeAdvantages } from './gae.js';
import { tokenRewards } from './kl.js';
import { assertLength, countValid } from './masked.js';
import { maskedWhiten } from './whiten.js';

export interface RewardShapingInput {
  /** (B) the reward function's scores of the completions. */
  scores: ArrayLike<number>;
  /** (B) whether each completion ended (end-of-text or a stop text) rather than at the token limit. */
  finished: ArrayLike<boolean>;
  /** (B·T) per-token log-probs of the sampled tokens under the policy (at rollout time) and the reference. */
  logp: ArrayLike<number>;
  logpRef: ArrayLike<number>;
  /** (B·T) the value head's predictions at rollout time. */
  values: ArrayLike<number>;
  /** (B·T) 1 on completion tokens. */
  mask: ArrayLike<number>;
  B: number;
  T: number;
}

export interface RewardShapingOptions {
  /** KL coefficient β of the per-token penalty −β·(logp − logpRef). */
  beta: number;
  /** Subtracted (≥ 0) from the score of a completion that did not finish, as TRL's missing_eos_penalty. */
  missingEosPenalty: number;
  /** Clip scores to ±scoreClip (0 = off), after the penalty. */
  scoreClip: number;
  /** Scale the per-token rewards to unit variance (mean kept, as TRL's whiten_rewards). */
  whitenRewards: boolean;
  gamma: number;
  lambda: number;
}

export interface ShapedRewards {
  /** (B) scores after the penalty and the clip: what the last token of each row is rewarded. */
  scores: Float32Array;
  /** (B) Σ_t (logp − logpRef) over each row's completion: its KL to the reference (k1), in nats. */
  kl: Float32Array;
  /** (B·T) per-token rewards (before whitening), 0 off the mask. */
  rewards: Float32Array;
  /** (B·T) whitened GAE advantages, 0 off the mask. */
  advantages: Float32Array;
  /** (B·T) the value head's targets: raw advantages + values. */
  returns: Float32Array;
}

export function shapeRewards(x: RewardShapingInput, o: RewardShapingOptions): ShapedRewards {
  const { B, T } = x;
  assertLength('shapeRewards', 'scores', x.scores, B);
  if (x.finished.length !== B)
    throw new Error(`shapeRewards: finished has ${x.finished.length} entries, expected ${B} (one per completion)`);
  assertLength('shapeRewards', 'logp', x.logp, B * T);
  assertLength('shapeRewards', 'logpRef', x.logpRef, B * T);
  assertLength('shapeRewards', 'values', x.values, B * T);
  countValid('shapeRewards', x.mask, B * T);
  if (!(o.missingEosPenalty >= 0))
    throw new Error(
      `shapeRewards: missingEosPenalty must be ≥ 0 (it is subtracted from unfinished completions' scores), got ` +
        `${o.missingEosPenalty}`,
    );
  if (!(o.scoreClip >= 0)) throw new Error(`shapeRewards: scoreClip must be ≥ 0 (0 = off), got ${o.scoreClip}`);
  const scores = Float32Array.from(x.scores, (s, b) => {
    let v = x.finished[b] ? s : s - o.missingEosPenalty;
    if (o.scoreClip > 0) v = Math.max(-o.scoreClip, Math.min(o.scoreClip, v));
    return v;
  });
  const kl = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) if (x.mask[b * T + t]) s += x.logp[b * T + t] - x.logpRef[b * T + t];
    kl[b] = s;
  }
  const rewards = tokenRewards(scores, x.logp, x.logpRef, x.mask, B, T, o.beta);
  const forGAE = o.whitenRewards ? maskedWhiten(rewards, x.mask, { shiftMean: false }) : rewards;
  const { advantages, returns } = computeAdvantages(forGAE, x.values, x.mask, B, T, o.gamma, o.lambda);
  return { scores, kl, rewards, advantages: maskedWhiten(advantages, x.mask), returns };
}

/**
 * Mean over rows of Σ_t −logp on the mask: logp, mask (B·T) → nats per completion. A one-sample
 * estimate of the entropy of the policy's completions (the sampled tokens' log-probs): TRL's
 * objective/entropy.
 */
export function sampledEntropy(logp: ArrayLike<number>, mask: ArrayLike<number>, B: number, T: number): number {
  assertLength('sampledEntropy', 'logp', logp, B * T);
  countValid('sampledEntropy', mask, B * T);
  if (B === 0) throw new Error('sampledEntropy: no completions (B = 0), so there is no mean');
  let s = 0;
  for (let i = 0; i < B * T; i++) if (mask[i]) s -= logp[i];
  return s / B;
}
