// Sampling settings, declared once (src/train/options.ts) for every command that samples without
// learning from the log-probabilities of what it sampled: `rlhf sample` (and best-of-N), ReST's Grow.
//
// NOTE: one rule per meaning of "temperature". Here it only shapes sampling, so 0 (greedy) is allowed.
// Where the log-probabilities of the sampled tokens are taken at the sampling temperature (PPO's
// ratio and KL), it divides the logits and must be > 0 (ppo-config.ts).

import { type ValuesOf, defineOptions } from './options.js';

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
