// The options of a model trained from scratch (without --init), declared once for every trainer
// that can start one: `rlhf train sft` and `rlhf train reward`.

import { PRESETS } from '../model/config.js';
import { defineOptions } from './options.js';

export const newModelOptions = defineOptions({
  preset: {
    type: 'choice',
    flag: '--preset',
    help: 'size of a new model (without --init)',
    choices: Object.keys(PRESETS),
    default: 'small',
  },
  vocabSize: {
    type: 'int',
    flag: '--vocab-size',
    help: 'vocabulary size of a newly trained tokenizer (256 bytes + end-of-text + merges)',
    default: 512,
    min: 258,
  },
});
