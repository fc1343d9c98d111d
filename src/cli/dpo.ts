// `rlhf train dpo`: direct preference optimization of a policy on comparisons.

import { Command } from 'commander';
import { FORMAT_NAMES } from '../data/read-comparisons.js';
import { defaultDPOConfig, trainDPO } from '../train/dpo.js';
import { splitComparisons } from '../train/reward.js';
import { choiceArg, floatArg, intArg } from './args.js';
import { loadComparisons, loadPolicy } from './inputs.js';
import { addOptimOptions } from './optim-options.js';

export function registerDPO(train: Command): void {
  const d = defaultDPOConfig;
  const cmd = train
    .command('dpo')
    .description(
      'DPO (or IPO) on comparisons: the policy learns the preferences directly, with the starting policy as the frozen reference',
    )
    .requiredOption('--data <file>', 'comparisons in any supported format (TRL preference JSONL, ours, …)')
    .option('--eval <file>', 'eval comparisons (default: --eval-fraction of --data by prompt hash)')
    .requiredOption('--init <dir>', 'the starting policy (an SFT checkpoint); also the reference')
    .requiredOption('--out <dir>', 'checkpoint directory (policy, metrics.jsonl, summary.json)')
    .option('--format <name>', `input format: ${FORMAT_NAMES.join(', ')}`, choiceArg(FORMAT_NAMES))
    .option('--beta <x>', 'strength of the pull toward the reference', floatArg(1e-6), d.beta)
    .option('--loss <type>', 'sigmoid (DPO) or ipo', choiceArg(['sigmoid', 'ipo'] as const), d.loss)
    .option(
      '--label-smoothing <x>',
      'conservative DPO: probability a label is wrong (sigmoid only)',
      floatArg(0, 0.499),
      d.labelSmoothing,
    )
    .option('--epochs <x>', 'passes over the training pairs (when --steps is 0)', floatArg(0.001), d.epochs)
    .option('--eval-fraction <x>', 'held out by prompt hash when no --eval is given', floatArg(0, 0.99), 0.1);
  addOptimOptions(cmd, { steps: 0, lr: d.lr, warmupSteps: d.warmupSteps, batchSize: d.batchSize }).action((o) => {
    const ck = loadPolicy(o.init);
    const all = loadComparisons(o.data, o.format);
    const { train, eval: ev } = o.eval
      ? { train: all, eval: loadComparisons(o.eval, o.format) }
      : splitComparisons(all, o.evalFraction);
    const r = trainDPO(
      ck.model,
      ck.tokenizer,
      train,
      ev,
      {
        ...d,
        outDir: o.out,
        beta: o.beta,
        loss: o.loss,
        labelSmoothing: o.labelSmoothing,
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
        quiet: o.quiet,
      },
      (m) => process.stderr.write(m + '\n'),
    );
    const acc = r.eval['eval/rewards/accuracies'];
    process.stdout.write(
      `dpo: ${r.steps} steps, loss ${r.firstLoss.toFixed(3)} → ${r.finalLoss.toFixed(3)}${acc !== undefined ? `, eval rewards/accuracies ${(100 * acc).toFixed(1)}%` : ''}; policy in ${o.out}\n`,
    );
  });
}
