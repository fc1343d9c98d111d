// Online DPO's options, declared once (src/train/options.ts): the preference loss as `train dpo` declares
// it, the sampling settings as `rlhf sample` declares them, the optimizer, LoRA. Defaults are TRL's
// OnlineDPOConfig's where they suit small CPU runs (β, temperature 0.9, 64 new tokens, max_length 512).

import {
  type ReferenceRunSettings,
  preferenceLossOptions,
  referenceOptimOptions,
  resumeFromInit,
} from './dpo-config.js';
import { loraOptions } from './lora-options.js';
import { type ValuesOf, defineOptions, mergeOptions, omitOptions, reviseOptions } from './options.js';
import { generationOptions } from './sampling-options.js';

export const onlineDPOOptions = mergeOptions(
  mergeOptions(
    mergeOptions(
      reviseOptions(preferenceLossOptions, { maxLength: { default: 512 } }),
      reviseOptions(omitOptions(generationOptions, ['temperature']), {
        maxNewTokens: { help: 'most tokens generated per completion' },
      }),
    ),
    defineOptions({
      // NOTE: two samples at temperature 0 would be the same completion, and the pair would teach nothing.
      temperature: {
        type: 'number',
        flag: '--temperature',
        help: 'sampling temperature of the two completions (the loss takes log-probs at 1, as TRL does)',
        default: 0.9,
        above: 0,
      },
      samplesEvery: {
        type: 'int',
        flag: '--samples-every',
        help:
          'write the samples of every n-th step to samples.jsonl: prompt, completion, reward, rewards, chosen, ' +
          'finish_reason (0 = none)',
        default: 10,
        min: 0,
      },
      missingEosPenalty: {
        type: 'number',
        flag: '--missing-eos-penalty',
        help:
          'subtracted from the score of a completion that did not end by itself (cut at --max-new-tokens): ' +
          'teaches the policy to finish (0 = off)',
        default: 0,
        min: 0,
      },
    }),
  ),
  mergeOptions(
    reviseOptions(omitOptions(referenceOptimOptions('the prompts'), ['evalFraction', 'evalEvery']), {
      batchSize: { help: 'prompts per step, each sampled twice (one pair)', default: 8 },
      resume: resumeFromInit,
    }),
    loraOptions,
  ),
);

export type OnlineDPOOptions = ValuesOf<typeof onlineDPOOptions.spec>;

export interface OnlineDPOConfig extends OnlineDPOOptions, ReferenceRunSettings {}

export const defaultOnlineDPOConfig: OnlineDPOOptions = onlineDPOOptions.defaults();
