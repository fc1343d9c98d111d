// The options GRPO and RLOO share, declared once (src/train/options.ts): several completions of each
// prompt, sampled at a temperature and scored by rewards; a clipped ratio over μ passes per batch; the
// optimizer; LoRA. grpo-config.ts and rloo-config.ts add their own and set the defaults that differ.

import type { ClipOptions } from '../objectives/grpo.js';
import { LR_SCHEDULES, type LrSchedule } from './loop.js';
import { loraOptions } from './lora-options.js';
import { optimOptions } from './optim-options.js';
import { trainedSamplingOptions } from './sampling-options.js';
import { type ValuesOf, defineOptions, mergeOptions, pickOptions, reviseOptions } from './options.js';

const ownOptions = defineOptions({
  numGenerations: {
    type: 'int',
    flag: '--num-generations',
    help: 'completions sampled per prompt (the group whose rewards make the baseline)',
    default: 8,
    min: 2,
  },
  maxCompletionLength: {
    type: 'int',
    flag: '--max-completion-length',
    help: 'most tokens sampled per completion',
    default: 32,
    min: 1,
  },
  beta: {
    type: 'number',
    flag: '--beta',
    help: 'KL coefficient β to the reference (the starting policy); 0 keeps no reference and computes no KL',
    default: 0,
    min: 0,
  },
  epsilon: {
    type: 'number',
    flag: '--epsilon',
    help: 'the ratio is clipped to [1 − ε, 1 + ε_high]',
    default: 0.2,
    above: 0,
    below: 1,
  },
  epsilonHigh: {
    type: 'number',
    flag: '--epsilon-high',
    help: "upper clip ε_high (0 = --epsilon; DAPO's clip-higher uses 0.28)",
    default: 0,
    min: 0,
  },
  numIterations: {
    type: 'int',
    flag: '--num-iterations',
    help: 'μ: optimizer updates on each batch of samples (> 1 makes the ratio and its clipping matter)',
    default: 1,
    min: 1,
  },
  maskTruncatedCompletions: {
    type: 'boolean',
    flag: '--mask-truncated-completions',
    help:
      "leave completions cut at --max-completion-length out of the loss (and the KL), as DAPO's overlong " +
      "filtering and TRL's mask_truncated_completions: they still count in their group's baseline",
    default: false,
  },
  microBatch: {
    type: 'int',
    flag: '--micro-batch',
    help:
      "completions per forward and backward pass, split across threads (the step's gradients add up over " +
      'them, so it changes memory, not the result; 0 = the whole batch at once)',
    default: 16,
    min: 0,
  },
  lrSchedule: {
    type: 'choice',
    flag: '--lr-schedule',
    help: "after warm-up: linear (to 0 at the end of the run, TRL's default), cosine (to lr/10), constant",
    choices: LR_SCHEDULES,
    default: 'linear' as LrSchedule,
  },
  samplesEvery: {
    type: 'int',
    flag: '--samples-every',
    help:
      'write the completions of every n-th step to samples.jsonl: prompt, completion, rewards, advantage, ' +
      'finish_reason (0 = none)',
    default: 10,
    min: 0,
  },
});

/** The optimizer group's options these trainers take: one step is a batch of prompts, sampled and updated on. */
const optim = reviseOptions(
  pickOptions(optimOptions, [
    'steps',
    'batchSize',
    'lr',
    'warmupSteps',
    'weightDecay',
    'gradClip',
    'saveEvery',
    'seed',
    'resume',
    'quiet',
    'tensorboard',
    'gradientCheckpointing',
  ]),
  {
    steps: { help: 'training steps: each samples a batch, scores it and takes --num-iterations updates', default: 100 },
    batchSize: { help: 'prompts per step, each sampled --num-generations times', default: 4 },
    lr: { help: 'peak learning rate', default: 1e-5 },
    warmupSteps: { help: 'linear warm-up of the learning rate, in optimizer updates' },
    weightDecay: { default: 0 },
    saveEvery: { help: 'save a resumable checkpoint every n steps (0 = only at the end)' },
    resume: {
      help:
        'continue the run saved in --out (give the same --init: it is the reference; same seed and threads give ' +
        'the same weights as one uninterrupted run)',
    },
  },
);

export const policyGradientOptions = mergeOptions(
  mergeOptions(mergeOptions(ownOptions, trainedSamplingOptions), optim),
  loraOptions,
);

export type PolicyGradientOptions = ValuesOf<typeof policyGradientOptions.spec>;

/** The ratio's clip range [1 − ε, 1 + ε_high]: --epsilon, and --epsilon-high or --epsilon when it is 0. */
export function clipRangeOf(o: Pick<PolicyGradientOptions, 'epsilon' | 'epsilonHigh'>): ClipOptions {
  return { epsilonLow: o.epsilon, epsilonHigh: o.epsilonHigh || o.epsilon };
}

/** Optimizer updates in a run: numIterations per step. */
export function updatesOf(o: Pick<PolicyGradientOptions, 'steps' | 'numIterations'>): number {
  return o.steps * o.numIterations;
}
