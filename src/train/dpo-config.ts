// DPO's options, declared once (src/train/options.ts): `rlhf train dpo`'s flags, the trainer's
// validation and the demo's settings all come from here.

import type { ChatTemplate } from '../model/chat-template.js';
import { epochOptimOptions } from './optim-options.js';
import { loraOptions } from './lora-options.js';
import { type ValuesOf, defineOptions, mergeOptions, reviseOptions } from './options.js';

/**
 * What every loss against a frozen reference (DPO, online DPO, KTO) declares alike: β and the length the
 * sequences are fitted to.
 */
export const referenceLossOptions = defineOptions({
  beta: {
    type: 'number',
    flag: '--beta',
    help: 'β: strength of the pull toward the reference policy',
    default: 0.1,
    above: 0,
  },
  maxLength: {
    type: 'int',
    flag: '--max-length',
    help:
      "most tokens of prompt + answer (TRL's max_length; the prompt is cut from its start), at most the " +
      "model's context",
    default: 1024,
    min: 2,
  },
});

/**
 * The preference loss on sequence log-probs (src/objectives/dpo.ts), shared by `train dpo` and
 * `train online-dpo`: β, the loss, label smoothing and the length the pairs are fitted to.
 */
export const preferenceLossOptions = mergeOptions(
  referenceLossOptions,
  defineOptions({
    loss: {
      type: 'choice',
      flag: '--loss',
      help: 'sigmoid (DPO) or ipo',
      choices: ['sigmoid', 'ipo'] as const,
      default: 'sigmoid',
    },
    labelSmoothing: {
      type: 'number',
      flag: '--label-smoothing',
      help: 'conservative DPO: probability that a label is wrong (sigmoid loss only)',
      default: 0,
      min: 0,
      below: 0.5,
    },
  }),
  [
    (c) =>
      c.loss === 'ipo' && c.labelSmoothing !== 0
        ? `labelSmoothing (--label-smoothing) applies to the sigmoid (DPO) loss only: got ${c.labelSmoothing} ` +
          `with loss (--loss) ipo; drop one`
        : null,
  ],
);

/**
 * The optimizer of the trainers against a frozen reference (DPO, KTO, online DPO), with their shared
 * defaults (lr 1e-4, 10 warm-up steps, no weight decay). `data` names what one pass covers.
 */
export function referenceOptimOptions(data: string) {
  return reviseOptions(epochOptimOptions(data), {
    lr: { default: 1e-4 },
    warmupSteps: { default: 10 },
    weightDecay: { default: 0 },
  });
}

/** --resume where the reference is the --init model again (KTO, online DPO: full runs and LoRA alike). */
export const resumeFromInit = {
  help:
    'continue the run saved in --out (its reference is the --init model: give the same --init, and with ' +
    'LoRA the same adapters)',
};

/** What a run of a trainer against a frozen reference is given beside its options. */
export interface ReferenceRunSettings {
  outDir: string;
  /** Stop (saving a resumable checkpoint) after this many steps of the schedule. */
  stopAfter?: number;
  /** The policy's chat template: conversational data is encoded with it (and it is saved with the policy). */
  chatTemplate?: ChatTemplate | null;
}

export const dpoOptions = mergeOptions(
  mergeOptions(
    preferenceLossOptions,
    reviseOptions(referenceOptimOptions('the training pairs'), {
      batchSize: { help: 'pairs per step', default: 16 },
      resume: { help: 'continue the LoRA run saved in --out (its reference is the --init model without adapters)' },
    }),
  ),
  loraOptions,
  [
    // NOTE: a full run's reference is the starting policy, which --out does not keep; a LoRA run's is
    // the --init model with its adapters off.
    (c) =>
      c.resume && c.loraRank === 0
        ? 'resume (--resume) continues a LoRA run only (give --lora-rank): a full DPO run does not keep its ' +
          'reference policy in --out'
        : null,
  ],
);

export type DPOOptions = ValuesOf<typeof dpoOptions.spec>;

export interface DPOConfig extends DPOOptions, ReferenceRunSettings {}

export const defaultDPOConfig: DPOOptions = dpoOptions.defaults();
