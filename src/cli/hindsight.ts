// `rlhf train hindsight`: Chain of Hindsight fine-tuning of a policy on comparisons.

import type { Command } from 'commander';
import { FORMAT_NAMES } from '../data/read-comparisons.js';
import { hasTrainingState } from '../model/checkpoint.js';
import { hindsightOptions } from '../train/hindsight-config.js';
import { hindsightPrompt, trainHindsight } from '../train/hindsight.js';
import { splitComparisons } from '../train/reward.js';
import { choiceArg } from './args.js';
import { loadComparisons, loadPolicy } from './inputs.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';

export function registerHindsight(train: Command): void {
  const cmd = train
    .command('hindsight')
    .description(
      'Chain of Hindsight: fine-tune on "<prompt> A good answer: <better> A worse answer: <worse>" sequences ' +
        '(loss on the outputs only); generate with the positive phrase',
    )
    .requiredOption(
      '--data <file>',
      'comparisons in any supported format (TRL preference JSONL, ours with "feedback", …)',
    )
    .option('--eval <file>', 'eval comparisons (default: --eval-fraction of --data by prompt hash)')
    .requiredOption('--init <dir>', 'the starting policy (an SFT checkpoint with tokenizer.json)')
    .requiredOption('--out <dir>', 'checkpoint directory (policy, metrics.jsonl, summary.json)')
    .option('--format <name>', `input format: ${FORMAT_NAMES.join(', ')}`, choiceArg(FORMAT_NAMES));
  addOptions(cmd, hindsightOptions).action((o) => {
    const cfg = { ...readOptions(hindsightOptions, o), outDir: o.out as string };
    // Resuming continues the policy in --out (written with the optimizer state), not --init; a LoRA run
    // puts its adapters in --out back on --init.
    const ck = loadPolicy(cfg.resume && cfg.loraRank === 0 && hasTrainingState(o.out) ? o.out : o.init);
    const all = loadComparisons(o.data, o.format);
    const { train, eval: ev } = o.eval
      ? { train: all, eval: loadComparisons(o.eval, o.format) }
      : splitComparisons(all, cfg.evalFraction);
    writeTrainConfig('hindsight', hindsightOptions, o);
    const r = trainHindsight(ck.model, ck.tokenizer, train, ev, cfg, (m) => process.stderr.write(m + '\n'));
    const e = r.eval;
    process.stdout.write(
      `hindsight: ${r.steps} steps, loss ${r.firstLoss.toFixed(3)} → ${r.finalLoss.toFixed(3)}` +
        `${
          e['eval/loss'] !== undefined
            ? `, eval loss ${e['eval/loss'].toFixed(3)}, phrase accuracy ` +
              `${(100 * e['eval/hindsight/accuracy']).toFixed(1)}%`
            : ''
        }; policy in ${o.out}\n` +
        `generate with the positive phrase: append ${JSON.stringify(r.promptSuffix)} to each prompt, e.g.\n` +
        `  npx rlhf sample --model ${o.out} --prompt ${JSON.stringify(hindsightPrompt('<your prompt>', cfg))}\n`,
    );
  });
}
