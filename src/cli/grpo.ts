// `rlhf train grpo`: GRPO against rewards, G completions per prompt with group-normalized advantages.

import type { Command } from 'commander';
import { grpoOptions } from '../train/grpo-config.js';
import { trainGRPO } from '../train/grpo.js';
import { registerPolicyGradient } from './policy-gradient.js';

export function registerGRPO(train: Command): void {
  registerPolicyGradient(train, {
    name: 'grpo',
    description:
      'GRPO against rewards: G completions per prompt, advantages normalized within each group, clipped ratio, ' +
      'optional k3 KL to the starting policy (no value network)',
    options: grpoOptions,
    // --no-scale-rewards is Dr. GRPO's setting by its usual name: --scale-rewards none.
    configure: (cmd) =>
      cmd.option('--no-scale-rewards', 'do not divide advantages by a std (as Dr. GRPO): --scale-rewards none'),
    normalize: (o) => {
      if (o.scaleRewards === false) o.scaleRewards = 'none';
    },
    train: (ck, rows, rewards, cfg, log, inputs) => trainGRPO(ck.model, ck.tokenizer, rows, rewards, cfg, log, inputs),
  });
}
