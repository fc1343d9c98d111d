// `rlhf train kto`: KTO on unpaired feedback (thumbs up and down), TRL's unpaired format.

import type { Command } from 'commander';
import { splitByKey } from '../data/split.js';
import { ktoOptions } from '../train/kto-config.js';
import { trainKTO } from '../train/kto.js';
import { CHAT_TEMPLATE_FLAG, loadChatTemplateFor, loadPolicy, loadUnpaired } from './inputs.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';

export function registerKTO(train: Command): void {
  const cmd = train
    .command('kto')
    .description(
      'KTO on unpaired feedback: each row one completion labeled desirable (true) or undesirable (false), with ' +
        'the starting policy as the frozen reference',
    )
    .requiredOption(
      '--data <file>',
      'TRL\'s unpaired JSONL {"prompt", "completion", "label": true|false} (text, or lists of messages), as ' +
        '`rlhf feedback export --format kto` writes it',
    )
    .option('--eval <file>', 'eval rows in the same format (default: --eval-fraction of --data by prompt hash)')
    .requiredOption('--init <dir>', 'the starting policy (an SFT checkpoint); also the reference')
    .requiredOption('--out <dir>', 'checkpoint directory (policy, metrics.jsonl, summary.json)')
    .option(...CHAT_TEMPLATE_FLAG);
  addOptions(cmd, ktoOptions).action((o) => {
    const opts = readOptions(ktoOptions, o);
    const ck = loadPolicy(o.init);
    const cfg = {
      ...opts,
      outDir: o.out as string,
      chatTemplate: loadChatTemplateFor(o.chatTemplate, [o.init], ck.tokenizer),
    };
    const all = loadUnpaired(o.data);
    const { train, eval: ev } = o.eval
      ? { train: all, eval: loadUnpaired(o.eval) }
      : splitByKey(all, (r) => r.prompt, cfg.evalFraction);
    writeTrainConfig('kto', ktoOptions, o);
    const r = trainKTO(ck.model, ck.tokenizer, train, ev, cfg, (m) => process.stderr.write(m + '\n'));
    const margin = r.eval['eval/rewards/margins'];
    process.stdout.write(
      `kto: ${r.steps} steps, loss ${r.firstLoss.toFixed(3)} → ${r.finalLoss.toFixed(3)}` +
        `${margin !== undefined ? `, eval rewards/margins ${margin.toFixed(3)}` : ''}; policy in ${o.out}\n`,
    );
  });
}
