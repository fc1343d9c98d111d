// Sampling settings, declared once (src/train/options.ts) for every command that samples without
// learning from the log-probabilities of what it sampled: `rlhf sample` (and best-of-N), ReST's Grow.
//
// NOTE: one rule per meaning of "temperature". Here it only shapes sampling, so 0 (greedy) is allowed.
// Where the log-probabilities of the sampled tokens are taken at the sampling temperature (PPO's
// ratio and KL), it divides the logits and must be > 0 (ppo-config.ts).

import { type ValuesOf, defineOptions, mergeOptions } from './options.js';

export const generationOptions = defineOptions({
  maxNewTokens: { type: 'int', flag: '--max-new-tokens', help: 'most tokens to generate', default: 64, min: 1 },
  temperature: {
    type: 'number',
    flag: '--temperature',
    help: 'sampling temperature (0 = greedy)',
    default: 1,
    min: 0,
  },
  topK: { type: 'int', flag: '--top-k', help: 'sample from the k most likely tokens (0 = all)', default: 0, min: 0 },
  topP: {
    type: 'number',
    flag: '--top-p',
    help: 'nucleus sampling: the smallest set of tokens with this probability',
    default: 1,
    above: 0,
    max: 1,
  },
  stop: {
    type: 'strings',
    flag: '--stop',
    help: 'end a completion at this text, which is left out (repeatable); the end-of-text token always stops',
    default: [],
  },
});

export type GenerationSettings = ValuesOf<typeof generationOptions.spec>;

/**
 * Sampling that is trained on (PPO, GRPO, RLOO): the log-probs of the ratio and the KL are taken at the
 * temperature (so > 0), and a stop text cuts what is scored while the tokens up to it are trained.
 */
export const trainedSamplingOptions = defineOptions({
  temperature: {
    type: 'number',
    flag: '--temperature',
    help: 'sampling temperature (the log-probs of the ratio and the KL are taken at it)',
    default: 1,
    above: 0,
  },
  stop: {
    type: 'strings',
    flag: '--stop',
    help:
      'text that ends a completion (repeatable): the text before it is scored, the tokens up to the one that ' +
      'completes it are trained (end-of-text always ends one)',
    default: [],
  },
});

/** `rlhf sample`: the sampling settings, how many samples, in what batches, and best-of-N. */
export const sampleOptions = mergeOptions(
  generationOptions,
  defineOptions({
    numSamples: { type: 'int', flag: '-n, --num-samples', help: 'samples per prompt', default: 1, min: 1 },
    batchSize: {
      type: 'int',
      flag: '--batch-size',
      help: 'sequences decoded together (with --generator: completions per request)',
      default: 16,
      min: 1,
    },
    seed: {
      type: 'int',
      flag: '--seed',
      help: 'random seed: the same seed gives the same samples',
      default: 0,
      min: 0,
    },
    bestOf: {
      type: 'int',
      flag: '--best-of',
      help: 'sample n completions per prompt and keep the one --reward scores highest (0 = plain sampling)',
      default: 0,
      min: 0,
    },
  }),
);

export type SampleSettings = ValuesOf<typeof sampleOptions.spec>;
