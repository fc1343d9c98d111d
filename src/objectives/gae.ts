// Generalized Advantage Estimation (Schulman et al., 2016), per sequence, over its valid tokens:
//   δ_t = r_t + γ·V_{t'} − V_t          t' the next valid token of the same sequence (V = 0 after the last)
//   A_t = δ_t + γλ·A_{t'}               computed backwards, A = 0 after the last valid token
//   R_t = A_t + V_t                     the value head's regression target
// Stiennon et al. use γ = 1, λ = 0.95. Whitening the advantages is a separate step (maskedWhiten),
// as TRL's compute_advantages does it after computing the returns from the raw advantages.

import { assertLength, countValid } from './masked.js';

export interface Advantages {
  /** (B·T), 0 on invalid tokens. */
  advantages: Float32Array;
  /** (B·T) advantages + values on valid tokens, 0 on invalid ones. */
  returns: Float32Array;
}

/**
 * rewards, values, mask: (B·T) row-major. Invalid (mask 0) positions are skipped wherever they are
 * (left or right padding, the prompt), so the recursion links each valid token to the next valid one.
 */
export function computeAdvantages(
  rewards: ArrayLike<number>,
  values: ArrayLike<number>,
  mask: ArrayLike<number>,
  B: number,
  T: number,
  gamma = 1,
  lambda = 0.95,
): Advantages {
  const n = B * T;
  assertLength('computeAdvantages', 'rewards', rewards, n);
  assertLength('computeAdvantages', 'values', values, n);
  countValid('computeAdvantages', mask, n);
  if (!(gamma >= 0 && gamma <= 1)) throw new Error(`computeAdvantages: gamma must be in [0, 1], got ${gamma}`);
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`computeAdvantages: lambda must be in [0, 1], got ${lambda}`);
  const advantages = new Float32Array(n),
    returns = new Float32Array(n);
  for (let b = 0; b < B; b++) {
    let nextValue = 0,
      nextAdvantage = 0; // of the next valid token; 0 past the end of the sequence
    for (let t = T - 1; t >= 0; t--) {
      const i = b * T + t;
      if (!mask[i]) continue;
      const delta = rewards[i] + gamma * nextValue - values[i];
      const a = delta + gamma * lambda * nextAdvantage;
      advantages[i] = a;
      returns[i] = a + values[i];
      nextValue = values[i];
      nextAdvantage = a;
    }
  }
  return { advantages, returns };
}
