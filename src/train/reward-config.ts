// Options of reward-model training from comparisons, declared once (src/train/options.ts):
// `rlhf train reward`'s and `rlhf curve reward`'s flags, the trainer's validation and the demo's
// settings all come from here.

import type { ChatTemplate } from '../model/chat-template.js';
import { epochOptimOptions } from './optim-options.js';
import { loraOptions } from './lora-options.js';
import { newModelOptions } from './model-options.js';
import { type ValuesOf, defineOptions, mergeOptions, reviseOptions } from './options.js';

export const rewardOptions = mergeOptions(
  mergeOptions(
    mergeOptions(
      reviseOptions(newModelOptions, { vocabSize: { default: 1024 } }),
      defineOptions({
        contextLength: {
          type: 'int',
          flag: '--context',
          help: 'longest scored sequence in tokens, prompt + completion + end-of-text (prompts are cut from the start)',
          default: 128,
          min: 4,
        },
        centering: {
          type: 'number',
          flag: '--center',
          help: "reward-centering coefficient (TRL's center_rewards_coefficient)",
          default: 0,
          min: 0,
        },
        useMargin: {
          type: 'boolean',
          flag: '--use-margin',
          help: "subtract each record's margin (or confidence) inside the sigmoid",
          default: false,
        },
        evalLimit: {
          type: 'int',
          flag: '--eval-limit',
          help: 'eval comparisons scored at each periodic evaluation (all at the end)',
          default: 512,
          min: 1,
        },
      }),
    ),
    reviseOptions(epochOptimOptions('the training comparisons'), {
      batchSize: { help: 'comparisons per step (a K-ranking counts once and gives K(K−1)/2 pairs)', default: 32 },
      lr: { default: 1e-3 },
      warmupSteps: { default: 20 },
      evalEvery: { default: 100 },
    }),
  ),
  loraOptions,
);

export type RewardOptions = ValuesOf<typeof rewardOptions.spec>;

export interface RewardConfig extends RewardOptions {
  /** Output checkpoint directory. */
  outDir: string;
  /** Start from this checkpoint (a pretrained or SFT policy, or a reward model) instead of a new model. */
  init?: string;
  stopAfter?: number;
  /** The model's chat template: conversational comparisons are encoded with it (and it is saved with the model). */
  chatTemplate?: ChatTemplate | null;
}

export const defaultRewardConfig: RewardOptions = rewardOptions.defaults();

/** Checks every field and combination; the message names the field and its flag. */
export function validateRewardConfig(c: RewardConfig): void {
  rewardOptions.validate(c);
}
