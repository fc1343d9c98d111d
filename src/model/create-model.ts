// A freshly initialized model of a config's family.

import type { CausalLM } from './causal-lm.js';
import type { ModelConfig } from './config.js';
import { GPT2 } from './gpt2.js';

export function createModel(config: ModelConfig, seed = 0): CausalLM {
  return new GPT2(config, seed);
}
