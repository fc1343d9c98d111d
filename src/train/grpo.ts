// GRPO (Shao et al., 2024) against rewards, as TRL's GRPOTrainer: G completions of each prompt, advantages
// normalized within each group (src/objectives/grpo.ts), PPO's clipped ratio on every token over μ updates
// per batch, the k3 KL to the reference with coefficient β (0: no reference at all), and the token losses
// aggregated as --loss-type says. No value network: the group is the baseline. The run is the one RLOO
// shares (policy-gradient.ts).

import type { CausalLM } from '../model/causal-lm.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { groupAdvantages, shardShare } from '../objectives/grpo.js';
import { type GRPOConfig, grpoOptions } from './grpo-config.js';
import { clipRangeOf } from './policy-gradient-config.js';
import {
  type PolicyGradientInputs,
  type PolicyGradientResult,
  type PromptRow,
  runPolicyGradient,
} from './policy-gradient.js';
import { promptRowsOf } from './prompt-samples.js';
import { type RewardLike, asRewardSet } from './reward-fn.js';

export { type GRPOConfig, type GRPOOptions, defaultGRPOConfig, grpoOptions } from './grpo-config.js';
export type { PolicyGradientInputs, PolicyGradientResult, PolicyGradientStep, PromptRow } from './policy-gradient.js';

/**
 * Trains `policy` in place on `prompts` (texts, or rows with their other fields as `columns` for the
 * rewards) against `rewards` (a function, or a set of weighted ones). With cfg.resume and a run in
 * cfg.outDir, `policy` must be the starting policy (the reference).
 */
export function trainGRPO(
  policy: CausalLM,
  tok: Tokenizer,
  prompts: (string | PromptRow)[],
  rewards: RewardLike,
  cfg: GRPOConfig,
  log: (m: string) => void,
  inputs: PolicyGradientInputs = {},
): Promise<PolicyGradientResult> {
  grpoOptions.validate(cfg);
  return runPolicyGradient(
    policy,
    tok,
    promptRowsOf(prompts),
    asRewardSet(rewards),
    cfg,
    {
      name: 'grpo',
      needsOldLogp: false,
      advantages: (roll) => groupAdvantages(roll.rewards, cfg.numGenerations, cfg.scaleRewards),
      objective: {
        grpo: {
          ...clipRangeOf(cfg),
          beta: cfg.beta,
          lossType: cfg.lossType,
          maxCompletionLength: cfg.maxCompletionLength,
        },
      },
      share: (part, whole) => shardShare(cfg.lossType, part, whole),
      meta: { beta: cfg.beta, lossType: cfg.lossType, numGenerations: cfg.numGenerations },
    },
    log,
    inputs,
  );
}
