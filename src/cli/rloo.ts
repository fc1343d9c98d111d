// `rlhf train rloo`: RLOO against rewards, k completions per prompt with a leave-one-out baseline.

import type { Command } from 'commander';
import { rlooOptions } from '../train/rloo-config.js';
import { trainRLOO } from '../train/rloo.js';
import { registerPolicyGradient } from './policy-gradient.js';

export function registerRLOO(train: Command): void {
  registerPolicyGradient(train, {
    name: 'rloo',
    description:
      "RLOO against rewards: k completions per prompt, each one's baseline the mean reward of the others, " +
      'REINFORCE with a clipped sequence ratio, KL to the starting policy in the reward or the loss',
    options: rlooOptions,
    train: (ck, rows, rewards, cfg, log, inputs) => trainRLOO(ck.model, ck.tokenizer, rows, rewards, cfg, log, inputs),
  });
}
