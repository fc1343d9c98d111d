// The reference numbers of tests/fixtures/policy-gradient.json: GRPO's and RLOO's advantages, losses and
// gradients computed in PyTorch (float64) with TRL's formulas, on fixed random inputs drawn in float32.
// Regenerate with `/usr/bin/python3 tests/interop/torch_policy_gradient.py`. Grids are (B·T) row-major,
// completion tokens first in each row; masks hold 1 on a counted token.

import { readFileSync } from 'node:fs';

type ClipRatios = Record<'clip_ratio/low_mean' | 'clip_ratio/high_mean' | 'clip_ratio/region_mean', number>;

interface Grids {
  B: number;
  T: number;
  lengths: number[];
  mask: number[];
  logp: number[];
  /** Junk (3.0) at padded positions, which must be ignored. */
  old_logp: number[];
  ref_logp: number[];
  epsilon_low: number;
  epsilon_high: number;
}

export interface PolicyGradientFixture {
  generator: string;
  grpo_advantages: {
    G: number;
    rewards: number[];
    cases: { scale_rewards: 'group' | 'batch' | 'none'; advantages: number[]; frac_reward_zero_std: number }[];
  };
  grpo_loss: Grids & {
    advantages: number[];
    max_completion_length: number;
    cases: (ClipRatios & {
      loss_type: 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
      /** Without old log-probs, the policy's own (detached) are used: ratio 1. */
      with_old: boolean;
      with_ref: boolean;
      beta: number;
      loss: number;
      grad_logp: number[];
      kl: number;
    })[];
  };
  rloo: Grids & {
    k: number;
    rewards: number[];
    beta: number;
    sequence_kl: number[];
    penalized_rewards: number[];
    advantages: { plain: number[]; normalized: number[]; kl_in_reward: number[] };
    /** The loss of advantages.kl_in_reward. */
    cases: (ClipRatios & { with_old: boolean; kl_loss_coef: number; loss: number; grad_logp: number[]; kl: number })[];
  };
}

/** Where the fixture is, found from this module (dist/test-support/), wherever the tests run from. */
export const POLICY_GRADIENT_FIXTURE = new URL('../../tests/fixtures/policy-gradient.json', import.meta.url);

let cached: PolicyGradientFixture | undefined;

export function policyGradientFixture(): PolicyGradientFixture {
  cached ??= JSON.parse(readFileSync(POLICY_GRADIENT_FIXTURE, 'utf8'));
  return cached!;
}
