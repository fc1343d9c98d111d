// A freshly initialized model of a config's family.
// seed null allocates the parameters without initializing them (zeros), for a loader that fills them.

import type { CausalLM } from './causal-lm.js';
import { type ModelConfig, familyOf } from './config.js';
import { GPT2 } from './gpt2.js';
import { Llama } from './llama.js';

export function createModel(config: ModelConfig, seed: number | null = 0): CausalLM {
  switch (familyOf(config)) {
    case 'gpt2':
      return new GPT2(config, seed);
    case 'llama':
    case 'qwen2':
    case 'qwen3':
      return new Llama(config, seed);
  }
}
