// PPO's options, declared once (src/train/options.ts): `rlhf train ppo`'s flags, the trainer's
// validation and the demo's settings all come from here.

import { LR_SCHEDULES, type LrSchedule } from './loop.js';
import { loraOptions } from './lora-options.js';
import { optimOptions } from './optim-options.js';
import { trainedSamplingOptions } from './sampling-options.js';
import { type Options, type ValuesOf, defineOptions, mergeOptions, pickOptions, reviseOptions } from './options.js';

const ppoOwnOptions = mergeOptions(
  defineOptions({
    iterations: {
      type: 'int',
      flag: '--iterations',
      help: 'PPO iterations (a batch of rollouts each)',
      default: 50,
      min: 1,
    },
    rolloutBatch: {
      type: 'int',
      flag: '--rollout-batch',
      help: 'prompts (rollouts) per iteration',
      default: 32,
      min: 1,
    },
    minibatch: { type: 'int', flag: '--minibatch', help: 'rollouts per optimizer step', default: 8, min: 1 },
    ppoEpochs: { type: 'int', flag: '--ppo-epochs', help: "passes over each iteration's rollouts", default: 4, min: 1 },
    lrSchedule: {
      type: 'choice',
      flag: '--lr-schedule',
      help:
        'after warm-up: linear (to 0 at the end of the run, as lm-human-preferences and TRL), cosine (to lr/10), ' +
        'constant',
      choices: LR_SCHEDULES,
      default: 'linear' as LrSchedule,
    },
    initKL: { type: 'number', flag: '--init-kl', help: 'initial KL coefficient β', default: 0.05, min: 0 },
    targetKL: {
      type: 'number',
      flag: '--target-kl',
      help: 'adaptive KL control (Ziegler et al.): target KL in nats per completion (0 = keep β fixed)',
      default: 6,
      min: 0,
    },
    horizon: {
      type: 'int',
      flag: '--horizon',
      help: 'adaptive KL control horizon, in rollouts',
      default: 10000,
      min: 1,
    },
    gamma: { type: 'number', flag: '--gamma', help: 'discount γ', default: 1, min: 0, max: 1 },
    lambda: { type: 'number', flag: '--lambda', help: 'GAE λ', default: 0.95, min: 0, max: 1 },
    clipRange: { type: 'number', flag: '--clip-range', help: 'policy ratio clip ε', default: 0.2, above: 0 },
    clipRangeValue: { type: 'number', flag: '--clip-range-value', help: 'value clip', default: 0.2, above: 0 },
    vfCoef: { type: 'number', flag: '--vf-coef', help: 'value loss coefficient', default: 0.1, min: 0 },
    entCoef: { type: 'number', flag: '--ent-coef', help: 'entropy bonus coefficient', default: 0, min: 0 },
    missingEosPenalty: {
      type: 'number',
      flag: '--missing-eos-penalty',
      help:
        'subtracted from the score of a completion cut at --max-new-tokens, without end-of-text or a stop text ' +
        '(as TRL; 0 = none)',
      default: 0,
      min: 0,
    },
    scoreClip: { type: 'number', flag: '--score-clip', help: 'clip scores to ±x (0 = off)', default: 0, min: 0 },
    whitenRewards: {
      type: 'boolean',
      flag: '--whiten-rewards',
      help: 'whiten the per-token rewards (scale only) before GAE, as TRL',
      default: false,
    },
    maxNewTokens: { type: 'int', flag: '--max-new-tokens', help: 'longest completion', default: 32, min: 1 },
    samplesEvery: {
      type: 'int',
      flag: '--samples-every',
      help:
        'write the rollouts of every n-th iteration to samples.jsonl: prompt, completion, score, rewards, ' +
        'finish_reason (0 = none)',
      default: 1,
      min: 0,
    },
  }),
  trainedSamplingOptions,
  [
    (c) =>
      c.minibatch > c.rolloutBatch
        ? `minibatch (--minibatch) cannot exceed rolloutBatch (--rollout-batch): got ${c.minibatch} > ${c.rolloutBatch}`
        : null,
  ],
);

/** The optimizer group's options PPO takes (optim-options.ts), with PPO's units in their help. */
const ppoOptimOptions = reviseOptions(
  pickOptions(optimOptions, [
    'lr',
    'warmupSteps',
    'gradClip',
    'saveEvery',
    'seed',
    'resume',
    'quiet',
    'tensorboard',
    'gradientCheckpointing',
  ]),
  {
    lr: { help: 'peak learning rate' },
    warmupSteps: { help: 'linear warm-up of the learning rate, in optimizer updates (minibatches)' },
    saveEvery: { help: 'save a resumable checkpoint every n iterations (0 = only at the end)' },
    resume: {
      help: 'continue the run saved in --out (same seed and threads give the same weights as one uninterrupted run)',
    },
  },
);

export const ppoOptions = mergeOptions(mergeOptions(ppoOwnOptions, ppoOptimOptions), loraOptions);

export type PPOOptions = typeof ppoOptions extends Options<infer S> ? ValuesOf<S> : never;

export interface PPOConfig extends PPOOptions {
  outDir: string;
  /** Stop (saving a resumable checkpoint) after this many iterations of the run, to be resumed. */
  stopAfter?: number;
}

/** Optimizer updates per iteration: ppoEpochs passes of whole minibatches (a remainder is left out). */
export function updatesPerIteration(c: PPOOptions): number {
  return c.ppoEpochs * Math.floor(c.rolloutBatch / c.minibatch);
}

export const defaultPPOConfig: PPOOptions = ppoOptions.defaults();
