// `rlhf train ppo`: PPO against a reward model with a KL penalty to the starting policy.

import { Command } from 'commander';
import { loadRewardFn } from '../remote/reward-client.js';
import { ppoOptions } from '../train/ppo-config.js';
import { trainPPO } from '../train/ppo.js';
import { loadPolicy, loadPrompts } from './inputs.js';
import { addOptions, readOptions } from './options.js';

export function registerPPO(train: Command): void {
  const cmd = train
    .command('ppo')
    .description(
      'PPO against a reward model, reward = score − β·KL(policy ‖ reference) per token, value head on the ' +
        'policy trunk, GAE',
    )
    .requiredOption(
      '--init <dir>',
      'the starting policy (an SFT checkpoint); also the frozen reference (give it again with --resume)',
    )
    .requiredOption('--prompts <file>', 'JSONL of {"prompt": …}')
    .requiredOption(
      '--reward <dir|url>',
      'reward model directory (from `rlhf train reward`), or the URL of `rlhf serve-reward`',
    )
    .requiredOption(
      '--out <dir>',
      'run directory: the policy with its v_head, metrics.jsonl, samples.jsonl, summary.json (and the state ' +
        '--resume reads)',
    );
  addOptions(cmd, ppoOptions).action(async (o) => {
    const cfg = { ...readOptions(ppoOptions, o), outDir: o.out as string };
    const ck = loadPolicy(o.init);
    const prompts = loadPrompts(o.prompts);
    const r = await trainPPO(ck.model, ck.tokenizer, prompts, loadRewardFn(o.reward), cfg, (m) =>
      process.stderr.write(m + '\n'),
    );
    const n = r.scores.length,
      k = Math.min(3, n);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    process.stdout.write(
      `ppo: ${n} iterations; mean score ${mean(r.scores.slice(0, k)).toFixed(3)} → ` +
        `${mean(r.scores.slice(-k)).toFixed(3)} (first/last ${k}), KL ${r.kl[n - 1].toFixed(3)} nats; policy in ` +
        `${o.out}\n`,
    );
  });
}
