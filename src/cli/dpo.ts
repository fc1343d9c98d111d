// `rlhf train dpo`: direct preference optimization of a policy on comparisons.

import type { Command } from 'commander';
import { FORMAT_NAMES } from '../data/read-comparisons.js';
import { dpoOptions } from '../train/dpo-config.js';
import { trainDPO } from '../train/dpo.js';
import { splitComparisons } from '../train/reward.js';
import { choiceArg } from './args.js';
import { CHAT_TEMPLATE_FLAG, loadChatTemplateFor, loadComparisons, loadPolicy } from './inputs.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';

export function registerDPO(train: Command): void {
  const cmd = train
    .command('dpo')
    .description(
      'DPO (or IPO) on comparisons: the policy learns the preferences directly, with the starting policy as the ' +
        'frozen reference',
    )
    .requiredOption('--data <file>', 'comparisons in any supported format (TRL preference JSONL, ours, …)')
    .option('--eval <file>', 'eval comparisons (default: --eval-fraction of --data by prompt hash)')
    .requiredOption('--init <dir>', 'the starting policy (an SFT checkpoint); also the reference')
    .requiredOption('--out <dir>', 'checkpoint directory (policy, metrics.jsonl, summary.json)')
    .option('--format <name>', `input format: ${FORMAT_NAMES.join(', ')}`, choiceArg(FORMAT_NAMES))
    .option(...CHAT_TEMPLATE_FLAG);
  addOptions(cmd, dpoOptions).action((o) => {
    const opts = readOptions(dpoOptions, o);
    const ck = loadPolicy(o.init);
    const cfg = {
      ...opts,
      outDir: o.out as string,
      chatTemplate: loadChatTemplateFor(o.chatTemplate, [o.init], ck.tokenizer),
    };
    const all = loadComparisons(o.data, o.format);
    const { train, eval: ev } = o.eval
      ? { train: all, eval: loadComparisons(o.eval, o.format) }
      : splitComparisons(all, cfg.evalFraction);
    writeTrainConfig('dpo', dpoOptions, o);
    const r = trainDPO(ck.model, ck.tokenizer, train, ev, cfg, (m) => process.stderr.write(m + '\n'));
    const acc = r.eval['eval/rewards/accuracies'];
    process.stdout.write(
      `dpo: ${r.steps} steps, loss ${r.firstLoss.toFixed(3)} → ` +
        `${r.finalLoss.toFixed(3)}` +
        `${acc !== undefined ? `, eval rewards/accuracies ${(100 * acc).toFixed(1)}%` : ''}; policy in ${o.out}\n`,
    );
  });
}
