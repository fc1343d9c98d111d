// `rlhf train online-dpo`: DPO on pairs the policy samples as it trains, judged by rewards (models,
// servers or code).

import type { Command } from 'commander';
import { onlineDPOOptions } from '../train/online-dpo-config.js';
import { trainOnlineDPO } from '../train/online-dpo.js';
import { intArg } from './args.js';
import { CHAT_TEMPLATE_FLAG, loadChatTemplateFor, loadPolicy, loadPromptRows } from './inputs.js';
import { addMonitorOptions, monitorLine, monitorSetupFrom } from './monitor.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';
import { addRewardOptions, rewardSetFrom } from './reward-options.js';
import { addGeneratorOptions, remoteGeneratorFrom } from './serve-model.js';

export function registerOnlineDPO(train: Command): void {
  const cmd = train
    .command('online-dpo')
    .description(
      'online DPO: each step the policy samples two completions of each prompt, the rewards choose the better, ' +
        'and the pair trains the policy with the DPO (or IPO) loss against the frozen starting policy',
    )
    .requiredOption(
      '--init <dir>',
      'the starting policy (an SFT checkpoint); also the frozen reference (give it again with --resume)',
    )
    .requiredOption(
      '--prompts <file>',
      'JSONL of {"prompt": text or [messages]} (other fields go to reward modules as columns)',
    );
  addRewardOptions(cmd, { purpose: 'the judge of each pair (a judge server is a serve-reward URL)' })
    .requiredOption(
      '--out <dir>',
      'run directory: the policy, metrics.jsonl, samples.jsonl, summary.json (and the state --resume reads)',
    )
    .option(...CHAT_TEMPLATE_FLAG);
  addOptions(cmd, onlineDPOOptions);
  addMonitorOptions(cmd);
  addGeneratorOptions(cmd)
    .option('--generator-batch <n>', 'completions per request to --generator', intArg(1), 64)
    .action(async (o) => {
      const ck = loadPolicy(o.init);
      const cfg = {
        ...readOptions(onlineDPOOptions, o),
        outDir: o.out as string,
        chatTemplate: loadChatTemplateFor(o.chatTemplate, [o.init], ck.tokenizer),
      };
      const rows = loadPromptRows(o.prompts, { chat: true });
      // Each sample reaches the rewards with its row's columns, so no lookup by prompt is needed.
      const reward = await rewardSetFrom(o);
      const monitor = await monitorSetupFrom(o, { chat: true });
      // NOTE: no generation cache by default: every step samples a new policy.
      const remote = remoteGeneratorFrom(o, { batchSize: o.generatorBatch });
      writeTrainConfig('online-dpo', onlineDPOOptions, o);
      const r = await trainOnlineDPO(ck.model, ck.tokenizer, rows, reward, cfg, (m) => process.stderr.write(m + '\n'), {
        generator: remote ?? undefined,
        monitor,
      });
      const n = r.scores.length,
        k = Math.min(3, n);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      process.stdout.write(
        `online-dpo: ${r.steps} steps, loss ${r.firstLoss.toFixed(3)} → ${r.finalLoss.toFixed(3)}; mean score ` +
          `${mean(r.scores.slice(0, k)).toFixed(3)} → ${mean(r.scores.slice(-k)).toFixed(3)} (first/last ${k} ` +
          `steps); policy in ${o.out}\n${monitorLine(r.monitor, 'step', o.out)}`,
      );
    });
}
