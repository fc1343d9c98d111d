// ReST's options, declared once (src/train/options.ts): `rlhf train rest`'s flags, the trainer's
// validation and the demo's settings all come from here.

import { optimOptions } from './optim-options.js';
import { loraOptions } from './lora-options.js';
import { type ValuesOf, defineOptions, mergeOptions, pickOptions, reviseOptions } from './options.js';
import { generationOptions } from './sampling-options.js';

export const restOptions = mergeOptions(
  mergeOptions(
    mergeOptions(
      defineOptions({
        grows: { type: 'int', flag: '--grows', help: 'Grow rounds', default: 2, min: 1 },
        percentiles: {
          type: 'numbers',
          flag: '--percentiles',
          help: "reward percentiles of the Improve steps of each Grow, comma-separated (ReST's rising thresholds)",
          default: [50, 70, 90],
          min: 0,
          below: 100,
          rising: true,
        },
        samplesPerPrompt: {
          type: 'int',
          flag: '--samples',
          help: 'completions sampled per prompt at each Grow',
          default: 8,
          min: 1,
        },
        samplesEvery: {
          type: 'int',
          flag: '--samples-every',
          help:
            "write every n-th Grow's samples to samples.jsonl: prompt, completion, reward, rewards, " +
            'finish_reason (0 = none)',
          default: 1,
          min: 0,
        },
        epochsPerImprove: {
          type: 'number',
          flag: '--epochs-per-improve',
          help: 'passes over the kept samples at each Improve step',
          default: 1,
          above: 0,
        },
        heldOutFraction: {
          type: 'number',
          flag: '--held-out-fraction',
          help:
            'prompts held out (by prompt hash) to stop early: an Improve step that does not raise their reward is ' +
            'undone, and its Grow Improves no further (0 = none)',
          default: 0,
          min: 0,
          below: 1,
        },
        rewardWeighted: {
          type: 'boolean',
          flag: '--reward-weighted',
          help: "weight each kept sample's loss by its reward above the threshold",
          default: false,
        },
      }),
      reviseOptions(pickOptions(generationOptions, ['maxNewTokens', 'temperature', 'stop']), {
        maxNewTokens: { help: 'longest sampled completion', default: 32 },
        temperature: { help: 'sampling temperature at Grow (0 = greedy: every sample of a prompt the same)' },
        stop: {
          help:
            'end a sample at this text, left out (repeatable): Grow scores and keeps the samples cut there, as ' +
            'evaluation judges them',
        },
      }),
    ),
    // The fine-tuning of each Improve step; its steps come from --epochs-per-improve, and it neither
    // evaluates nor resumes.
    reviseOptions(
      pickOptions(optimOptions, [
        'batchSize',
        'lr',
        'warmupSteps',
        'weightDecay',
        'beta1',
        'beta2',
        'gradClip',
        'gradientCheckpointing',
        'seed',
        'quiet',
        'tensorboard',
      ]),
      {
        batchSize: { help: 'sequences per fine-tuning step', default: 16 },
        lr: { help: 'peak learning rate of each Improve step (linear warm-up, then cosine decay to lr/10)' },
        warmupSteps: { help: 'linear warm-up steps of each Improve step' },
        weightDecay: { default: 0 },
      },
    ),
  ),
  loraOptions,
);

export type ReSTOptions = ValuesOf<typeof restOptions.spec>;

export interface ReSTConfig extends ReSTOptions {
  outDir: string;
  /** Longest fine-tuning sequence, prompt + completion (default: the policy's context). */
  contextLength?: number;
}

export const defaultReSTConfig: ReSTOptions = restOptions.defaults();

/** Checks every field and combination; the message names the field and its flag. */
export function validateReSTConfig(c: ReSTConfig): void {
  restOptions.validate(c);
}
