// GRPO's options, declared once (src/train/options.ts): `rlhf train grpo`'s flags, the trainer's validation
// and the demo's settings all come from here. The shared ones are in policy-gradient-config.ts.

import { GRPO_LOSS_TYPES, type GRPOLossType, SCALE_REWARDS, type ScaleRewards } from '../objectives/grpo.js';
import { type ValuesOf, defineOptions, mergeOptions } from './options.js';
import { policyGradientOptions } from './policy-gradient-config.js';

export const grpoOptions = mergeOptions(
  defineOptions({
    lossType: {
      type: 'choice',
      flag: '--loss-type',
      help:
        "how token losses make the loss: dapo (TRL's default: mean over the batch's tokens), bnpo (the same " +
        'here: one step is one batch), grpo (mean over each completion, then over completions: favours short ' +
        'right answers and long wrong ones), dr_grpo (sum over tokens / (completions × --max-completion-length))',
      choices: GRPO_LOSS_TYPES,
      default: 'dapo' as GRPOLossType,
    },
    scaleRewards: {
      type: 'choice',
      flag: '--scale-rewards',
      help:
        "divide each advantage by the std of its group's rewards (group), of the batch's (batch), or not at all " +
        '(none, as Dr. GRPO: the std weighs prompts that are too easy or too hard up); --no-scale-rewards = none',
      choices: SCALE_REWARDS,
      default: 'group' as ScaleRewards,
    },
  }),
  policyGradientOptions,
);

export type GRPOOptions = ValuesOf<typeof grpoOptions.spec>;

export interface GRPOConfig extends GRPOOptions {
  outDir: string;
  /** Stop (saving a resumable checkpoint) after this many steps of the run, to be resumed. */
  stopAfter?: number;
}

export const defaultGRPOConfig: GRPOOptions = grpoOptions.defaults();
