// `rlhf train ppo`: PPO against a reward (models, servers or code) with a KL penalty to the starting policy.

import { Command } from 'commander';
import { ppoOptions } from '../train/ppo-config.js';
import { trainPPO } from '../train/ppo.js';
import { loadPolicy, loadPromptRows } from './inputs.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';
import { addMonitorOptions, monitorLine, monitorSetupFrom } from './monitor.js';
import { addRewardOptions, rewardSetFrom } from './reward-options.js';

export function registerPPO(train: Command): void {
  const cmd = train
    .command('ppo')
    .description(
      'PPO against a reward (models, servers or code), reward = score − β·KL(policy ‖ reference) per token, ' +
        'value head on the policy trunk, GAE',
    )
    .requiredOption(
      '--init <dir>',
      'the starting policy (an SFT checkpoint); also the frozen reference (give it again with --resume)',
    )
    .requiredOption('--prompts <file>', 'JSONL of {"prompt": …} (other fields go to reward modules as columns)');
  addRewardOptions(cmd).requiredOption(
    '--out <dir>',
    'run directory: the policy with its v_head, metrics.jsonl, samples.jsonl, summary.json (and the state ' +
      '--resume reads)',
  );
  addOptions(cmd, ppoOptions);
  addMonitorOptions(cmd).action(async (o) => {
    const cfg = { ...readOptions(ppoOptions, o), outDir: o.out as string };
    const ck = loadPolicy(o.init);
    const rows = loadPromptRows(o.prompts);
    const reward = await rewardSetFrom(o, { rows, promptsFile: o.prompts });
    writeTrainConfig('ppo', ppoOptions, o);
    const monitor = await monitorSetupFrom(o);
    const r = await trainPPO(
      ck.model,
      ck.tokenizer,
      rows.map((row) => row.prompt),
      reward,
      cfg,
      (m) => process.stderr.write(m + '\n'),
      undefined,
      { monitor },
    );
    const n = r.scores.length,
      k = Math.min(3, n);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    process.stdout.write(
      `ppo: ${n} iterations; mean score ${mean(r.scores.slice(0, k)).toFixed(3)} → ` +
        `${mean(r.scores.slice(-k)).toFixed(3)} (first/last ${k}), KL ${r.kl[n - 1].toFixed(3)} nats; policy in ` +
        `${o.out}\n${monitorLine(r.monitor, 'iteration', o.out)}`,
    );
  });
}
