// The reference numbers of tests/fixtures/objectives.json: the objectives computed in PyTorch
// (float64) with the formulas as TRL and lm-human-preferences write them, on fixed random inputs
// drawn in float32. Regenerate with `/usr/bin/python3 tests/fixtures/make_objectives.py`.
// Grids are (B·T) row-major; masks hold 1 on a counted token.

import { readFileSync } from 'node:fs';
import type { Tolerance } from './assert-close.js';

/** Our float32 engine against float64 references. */
export const FIXTURE_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };

export interface PPOPolicyFixture {
  B: number;
  T: number;
  clip_range: number;
  logp: number[];
  old_logp: number[];
  advantages: number[];
  mask: number[];
  loss: number;
  grad_logp: number[];
  clipfrac: number;
  approxkl: number;
  ratio_mean: number;
  /** The current TRL PPO's means, over padded positions too (where the log ratio is 0). */
  approxkl_over_all_positions: number;
  ratio_mean_over_all_positions: number;
}

export interface PPOValueFixture {
  B: number;
  T: number;
  clip_range_value: number;
  values: number[];
  old_values: number[];
  returns: number[];
  mask: number[];
  loss: number;
  grad_values: number[];
  clipfrac: number;
  error: number;
  vpred: number;
}

export interface GAEFixture {
  B: number;
  T: number;
  gamma: number;
  lambda: number;
  rewards: number[];
  values: number[];
  mask: number[];
  /** TRL's, on every position; only valid positions are comparable (ours are 0 elsewhere). */
  advantages: number[];
  returns: number[];
  whitened_advantages: number[];
}

export interface ShapingFixture extends Omit<GAEFixture, 'rewards'> {
  beta: number;
  scores: number[];
  logp: number[];
  logp_ref: number[];
  rewards: number[];
  whitened_rewards: number[];
}

export interface ObjectivesFixture {
  ppo_policy: PPOPolicyFixture;
  ppo_value: PPOValueFixture;
  entropy: { N: number; V: number; logits: number[]; mask: number[]; entropy: number; grad_logits: number[] };
  gae: GAEFixture[];
  shaping: ShapingFixture;
  whiten: {
    values: number[];
    mask: number[];
    mean: number;
    var_unbiased: number;
    var_biased: number;
    whiten: number[];
    whiten_keep_mean: number[];
    /** lm-human-preferences' whiten: no mask, population variance. */
    lmhp_whiten: number[];
    lmhp_whiten_keep_mean: number[];
  };
  kl: {
    B: number;
    T: number;
    logp: number[];
    logp_ref: number[];
    mask: number[];
    k1: number;
    k2: number;
    k3: number;
    grad_k1: number[];
    grad_k3: number[];
  };
  preference: {
    P: number;
    lengths: number[];
    policy_chosen: number[];
    policy_rejected: number[];
    ref_chosen: number[];
    ref_rejected: number[];
    dpo: PreferenceLossFixture;
    cdpo: PreferenceLossFixture;
    /** IPO's inputs are per-token means (the sums above divided by lengths), as TRL divides them. */
    ipo: Omit<PreferenceLossFixture, 'label_smoothing' | 'metrics'> & {
      policy_chosen: number[];
      policy_rejected: number[];
      ref_chosen: number[];
      ref_rejected: number[];
    };
  };
  bradley_terry: {
    P: number;
    chosen: number[];
    rejected: number[];
    margins: number[];
    plain: BradleyTerryFixture;
    margin: BradleyTerryFixture;
    margin_centered: BradleyTerryFixture;
  };
}

export interface PreferenceLossFixture {
  beta: number;
  label_smoothing: number;
  loss: number;
  grad_chosen: number[];
  grad_rejected: number[];
  metrics: Record<'rewards/chosen' | 'rewards/rejected' | 'rewards/accuracies' | 'rewards/margins', number>;
}

export interface BradleyTerryFixture {
  centering: number;
  loss: number;
  grad_chosen: number[];
  grad_rejected: number[];
}

let cached: ObjectivesFixture | undefined;

/** The fixture, read once; found from this module (dist/test-support/), wherever the tests run from. */
export function objectivesFixture(): ObjectivesFixture {
  cached ??= JSON.parse(readFileSync(new URL('../../tests/fixtures/objectives.json', import.meta.url), 'utf8'));
  return cached!;
}

/** The entries of xs where mask is 1. */
export function valid(xs: ArrayLike<number>, mask: ArrayLike<number>): number[] {
  return Array.from(xs).filter((_, i) => mask[i] === 1);
}
