// RLOO (Ahmadian et al., 2024) against rewards, as TRL's RLOOTrainer: k completions of each prompt, each
// one's baseline the mean reward of the other k − 1 (src/objectives/rloo.ts), REINFORCE on whole sequences
// with PPO's clipped ratio over μ updates per batch, and the KL to the reference in the reward (TRL's way:
// the sequence's k1 at sampling, times β, off its reward) or in the loss (β·Σ_t k3, with gradients). The
// run is the one GRPO shares (policy-gradient.ts).

import type { CausalLM } from '../model/causal-lm.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { groupAdvantages } from '../objectives/grpo.js';
import { leaveOneOutAdvantages, penalizedRewards, sequenceKL } from '../objectives/rloo.js';
import { clipRangeOf } from './policy-gradient-config.js';
import {
  type Algorithm,
  type PolicyGradientInputs,
  type PolicyGradientResult,
  type PromptRow,
  runPolicyGradient,
} from './policy-gradient.js';
import { promptRowsOf } from './prompt-samples.js';
import { type RewardLike, asRewardSet } from './reward-fn.js';
import { type RLOOConfig, rlooOptions } from './rloo-config.js';

export { type RLOOConfig, type RLOOOptions, defaultRLOOConfig, rlooOptions } from './rloo-config.js';

/** RLOO's advantages: the KL (when in the reward) taken off each reward, then the leave-one-out baseline. */
function rlooAdvantages(cfg: RLOOConfig): Algorithm['advantages'] {
  return (roll, oldLogp, refLogp) => {
    let rewards = roll.rewards,
      kl: number | undefined;
    if (cfg.klIn === 'reward' && refLogp && oldLogp) {
      const seqKL = sequenceKL(oldLogp, refLogp, roll.mask, roll.pairs.length, roll.Tc);
      rewards = penalizedRewards(rewards, seqKL, cfg.beta);
      // The metric as TRL logs it: the token mean of k1 (Σ of the sequences' KL over their tokens).
      kl =
        seqKL.reduce((a, b) => a + b, 0) /
        Math.max(
          1,
          roll.mask.reduce((a, b) => a + b, 0),
        );
    }
    return {
      advantages: leaveOneOutAdvantages(rewards, cfg.numGenerations, cfg.normalizeAdvantages),
      fracZeroStd: groupAdvantages(rewards, cfg.numGenerations, 'group').fracZeroStd,
      kl,
    };
  };
}

/**
 * Trains `policy` in place on `prompts` (texts, or rows with their other fields as `columns` for the
 * rewards) against `rewards` (a function, or a set of weighted ones). With cfg.resume and a run in
 * cfg.outDir, `policy` must be the starting policy (the reference).
 */
export function trainRLOO(
  policy: CausalLM,
  tok: Tokenizer,
  prompts: (string | PromptRow)[],
  rewards: RewardLike,
  cfg: RLOOConfig,
  log: (m: string) => void,
  inputs: PolicyGradientInputs = {},
): Promise<PolicyGradientResult> {
  rlooOptions.validate(cfg);
  const inReward = cfg.klIn === 'reward' && cfg.beta > 0;
  return runPolicyGradient(
    policy,
    tok,
    promptRowsOf(prompts),
    asRewardSet(rewards),
    cfg,
    {
      name: 'rloo',
      needsOldLogp: inReward,
      advantages: rlooAdvantages(cfg),
      objective: {
        rloo: {
          ...clipRangeOf(cfg),
          klLossCoef: cfg.klIn === 'loss' ? cfg.beta : 0,
        },
      },
      share: (part, whole) => part.sequences / whole.sequences,
      meta: { beta: cfg.beta, klIn: cfg.klIn, numGenerations: cfg.numGenerations },
    },
    log,
    inputs,
  );
}
