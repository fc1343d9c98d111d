// `rlhf train hindsight`: Chain of Hindsight fine-tuning of a policy on comparisons.

import { Command, InvalidArgumentError } from 'commander';
import { FORMAT_NAMES } from '../data/read-comparisons.js';
import { hasTrainingState } from '../model/checkpoint.js';
import { splitComparisons } from '../train/reward.js';
import {
  defaultHindsightConfig,
  hindsightPrompt,
  trainHindsight,
  validateHindsightTemplates,
} from '../train/hindsight.js';
import { choiceArg, floatArg } from './args.js';
import { loadComparisons, loadPolicy } from './inputs.js';
import { addOptimOptions } from './optim-options.js';

/**
 * Repeatable, comma-separated phrases ("\," is a comma inside a phrase).
 * NOTE: no commander default here: commander would pass it as `prev` and the first use would append
 * to the defaults instead of replacing them; the defaults are filled in by the action.
 */
function phrases(v: string, prev: string[] = []): string[] {
  const out = v.split(/(?<!\\),/).map((s) => s.replace(/\\,/g, ',').trim());
  if (out.some((s) => s === ''))
    throw new InvalidArgumentError(`expected comma-separated non-empty phrases, got "${v}"`);
  return [...prev, ...out];
}

export function registerHindsight(train: Command): void {
  const d = defaultHindsightConfig;
  const cmd = train
    .command('hindsight')
    .description(
      'Chain of Hindsight: fine-tune on "<prompt> A good answer: <better> A worse answer: <worse>" sequences (loss on the outputs only); generate with the positive phrase',
    )
    .requiredOption(
      '--data <file>',
      'comparisons in any supported format (TRL preference JSONL, ours with "feedback", …)',
    )
    .option('--eval <file>', 'eval comparisons (default: --eval-fraction of --data by prompt hash)')
    .requiredOption('--init <dir>', 'the starting policy (an SFT checkpoint with tokenizer.json)')
    .requiredOption('--out <dir>', 'checkpoint directory (policy, metrics.jsonl, summary.json)')
    .option('--format <name>', `input format: ${FORMAT_NAMES.join(', ')}`, choiceArg(FORMAT_NAMES))
    .option(
      '--positive <list>',
      `phrases before the better output, comma-separated or repeated; the first is the one to generate with (default: ${d.positive.join(', ')})`,
      phrases,
    )
    .option('--negative <list>', `phrases before the worse output (default: ${d.negative.join(', ')})`, phrases)
    .option('--separator <text>', 'put before every phrase and before written feedback', d.separator)
    .option(
      '--feedback-prefix <text>',
      "introduces a comparison's written feedback, before the negative phrase",
      d.feedbackPrefix,
    )
    .option(
      '--better-first <share>',
      "share of sequences with the better output first, right after the prompt as at generation (0.5: the paper's random order; 1: always)",
      floatArg(0, 1),
      0.5,
    )
    .option('--epochs <x>', 'passes over the training comparisons (when --steps is 0)', floatArg(0.001), d.epochs)
    .option('--eval-fraction <x>', 'held out by prompt hash when no --eval is given', floatArg(0, 0.99), 0.1);
  addOptimOptions(cmd, { steps: 0, lr: d.lr, warmupSteps: d.warmupSteps, batchSize: d.batchSize }).action((o) => {
    const templates = {
      positive: o.positive ?? d.positive,
      negative: o.negative ?? d.negative,
      separator: o.separator,
      feedbackPrefix: o.feedbackPrefix,
    };
    const both = templates.positive.find((p: string) => templates.negative.includes(p));
    if (both !== undefined)
      throw new Error(`--positive and --negative both contain "${both}"; the model could not tell good from bad`);
    validateHindsightTemplates(templates);
    // Resuming continues the policy in --out (written with the optimizer state), not --init.
    const resuming = o.resume && hasTrainingState(o.out);
    const ck = loadPolicy(resuming ? o.out : o.init);
    const all = loadComparisons(o.data, o.format);
    const { train, eval: ev } = o.eval
      ? { train: all, eval: loadComparisons(o.eval, o.format) }
      : splitComparisons(all, o.evalFraction);
    const r = trainHindsight(
      ck.model,
      ck.tokenizer,
      train,
      ev,
      {
        ...d,
        ...templates,
        outDir: o.out,
        epochs: o.epochs,
        steps: o.steps,
        batchSize: o.batchSize,
        lr: o.lr,
        warmupSteps: o.warmup,
        weightDecay: o.weightDecay,
        gradClip: o.gradClip,
        evalEvery: o.evalEvery,
        saveEvery: o.saveEvery,
        seed: o.seed,
        resume: o.resume,
        quiet: o.quiet,
        betterFirstShare: o.betterFirst,
      },
      (m) => process.stderr.write(m + '\n'),
    );
    const ev2 = r.eval;
    process.stdout.write(
      `hindsight: ${r.steps} steps, loss ${r.firstLoss.toFixed(3)} → ${r.finalLoss.toFixed(3)}` +
        `${ev2['eval/loss'] !== undefined ? `, eval loss ${ev2['eval/loss'].toFixed(3)}, phrase accuracy ${(100 * ev2['eval/hindsight/accuracy']).toFixed(1)}%` : ''}; policy in ${o.out}\n` +
        `generate with the positive phrase: append ${JSON.stringify(r.promptSuffix)} to each prompt, e.g.\n` +
        `  npx rlhf sample --model ${o.out} --prompt ${JSON.stringify(hindsightPrompt('<your prompt>', templates))}\n`,
    );
  });
}
