// `rlhf train reward` and `rlhf score`: reward models from comparisons.

import { Command } from 'commander';
import { FORMAT_NAMES } from '../data/read-comparisons.js';
import { writeFileSync } from 'node:fs';
import { formatIssue } from '../data/jsonl.js';
import { PRESETS } from '../model/config.js';
import { RewardModel } from '../model/reward-model.js';
import { scoreRewards } from '../runtime/reward.js';
import { defaultRewardConfig } from '../train/reward-config.js';
import { readCandidates } from '../data/candidates.js';
import { curveTable, defaultSizes, rewardCurve } from '../train/curve.js';
import { loadEnsemble, rankCandidates, toLabelingTask, trainEnsemble } from '../train/ensemble.js';
import { splitComparisons, trainRewardModel } from '../train/reward.js';
import { choiceArg, floatArg, intArg } from './args.js';
import { addOptimOptions } from './optim-options.js';
import { loadComparisons } from './inputs.js';

export function registerRewardTraining(train: Command): void {
  const d = defaultRewardConfig;
  const cmd = train
    .command('reward')
    .description(
      'train a reward model on comparisons (Bradley-Terry): TRL preference JSONL, our comparison JSONL, OpenAI summarize-from-feedback, scored items',
    )
    .requiredOption('--train <file>', 'training comparisons (format detected, or --format)')
    .option('--eval <file>', 'eval comparisons (default: --eval-fraction of --train, split by prompt hash)')
    .requiredOption(
      '--out <dir>',
      'checkpoint directory (model.safetensors with score.weight, metrics.json, metrics.jsonl)',
    )
    .option('--format <name>', `input format: ${FORMAT_NAMES.join(', ')}`, choiceArg(FORMAT_NAMES))
    .option('--init <dir>', 'start from a checkpoint (pretrained/SFT policy or reward model) instead of a new model')
    .option(
      '--preset <name>',
      `size of a new model: ${Object.keys(PRESETS).join(', ')}`,
      choiceArg(Object.keys(PRESETS)),
      d.preset,
    )
    .option('--vocab-size <n>', 'vocabulary of a newly trained tokenizer', intArg(258), d.vocabSize)
    .option(
      '--context <n>',
      'longest scored sequence in tokens (prompts are cut from the start)',
      intArg(4),
      d.contextLength,
    )
    .option('--epochs <x>', 'passes over the training comparisons (when --steps is 0)', floatArg(0.001), d.epochs)
    .option('--center <x>', 'reward-centering coefficient', floatArg(0), d.centering)
    .option('--use-margin', "subtract each record's margin (or confidence) inside the sigmoid", false)
    .option('--eval-fraction <x>', 'held out by prompt hash when no --eval is given', floatArg(0, 0.99), d.evalFraction)
    .option(
      '--eval-limit <n>',
      'eval comparisons scored at each periodic evaluation (all at the end)',
      intArg(1),
      d.evalLimit,
    )
    .option(
      '--ensemble <k>',
      'train k members (seeds seed…seed+k−1) into OUT/member-i, with OUT/ensemble.json',
      intArg(2),
    )
    .option('--bootstrap', 'with --ensemble: each member trains on a bootstrap resample of the comparisons', false);
  addOptimOptions(cmd, { steps: 0, lr: d.lr, warmupSteps: d.warmupSteps, batchSize: d.batchSize });
  cmd.action((o) => {
    const all = loadComparisons(o.train, o.format);
    const { train, eval: ev } = o.eval
      ? { train: all, eval: loadComparisons(o.eval, o.format) }
      : splitComparisons(all, o.evalFraction);
    const cfg = {
      ...d,
      outDir: o.out,
      init: o.init,
      preset: o.preset,
      vocabSize: o.vocabSize,
      contextLength: o.context,
      batchSize: o.batchSize,
      epochs: o.epochs,
      steps: o.steps,
      lr: o.lr,
      warmupSteps: o.warmup,
      weightDecay: o.weightDecay,
      gradClip: o.gradClip,
      evalEvery: o.evalEvery,
      saveEvery: o.saveEvery,
      centering: o.center,
      useMargin: o.useMargin,
      evalFraction: o.evalFraction,
      evalLimit: o.evalLimit,
      seed: o.seed,
      resume: o.resume,
      quiet: o.quiet,
    };
    const pct = (x?: number) => (x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
    if (o.ensemble) {
      const m = trainEnsemble(train, ev, cfg, o.ensemble, o.bootstrap, (msg) => process.stderr.write(msg + '\n'));
      process.stdout.write(
        `reward ensemble: ${m.members.length} members; eval accuracy of the mean reward ${pct(m.eval?.accuracy)}, members ${m.memberEval.map((e) => pct(e?.accuracy)).join(', ')}; ${o.out}/ensemble.json\n`,
      );
      return;
    }
    const { result } = trainRewardModel(train, ev, cfg);
    process.stdout.write(
      `reward: ${result.steps} steps in ${result.seconds.toFixed(0)}s; train accuracy ${pct(result.train.accuracy)}, ` +
        `eval accuracy ${pct(result.eval?.accuracy)} on ${result.eval?.pairs ?? 0} pairs` +
        `${result.hard ? `, hard ${pct(result.hard.accuracy)} on ${result.hard.pairs}` : ''}; checkpoint and metrics.json in ${o.out}\n`,
    );
  });
}

export function registerScore(program: Command): void {
  program
    .command('score')
    .description("score each record's completions with a reward model")
    .requiredOption('--model <dir>', 'reward model directory (from `rlhf train reward`)')
    .requiredOption('--data <file>', 'comparisons in any supported format, or JSONL {"prompt","completion"}')
    .option('--format <name>', `input format: ${FORMAT_NAMES.join(', ')}`, choiceArg(FORMAT_NAMES))
    .option('--out <file>', 'write JSONL here (default: stdout)')
    .action((o) => {
      const rm = RewardModel.load(o.model);
      const comps = loadComparisons(o.data, o.format);
      const rewards = scoreRewards(
        rm,
        comps.flatMap((c) => c.completions.map((completion) => ({ prompt: c.prompt, completion }))),
      );
      let k = 0;
      const lines = comps.map((c) => {
        const r = rewards.slice(k, (k += c.completions.length));
        return JSON.stringify({
          prompt: c.prompt,
          completions: c.completions,
          rewards: r,
          ranking: c.ranking,
          agrees: r[c.ranking[0]] > r[c.ranking[c.ranking.length - 1]],
        });
      });
      if (o.out) writeFileSync(o.out, lines.join('\n') + '\n');
      else process.stdout.write(lines.join('\n') + '\n');
    });
}

export function registerSelectPairs(program: Command): void {
  program
    .command('select-pairs')
    .description(
      'rank unlabeled candidate pairs by how much a reward-model ensemble disagrees on them (label the top ones first)',
    )
    .requiredOption('--ensemble <dir>', 'ensemble directory (from `rlhf train reward --ensemble K`)')
    .requiredOption('--candidates <file>', 'JSONL {"prompt","completions":[…]} or `rlhf sample --json` output')
    .option('--top <n>', 'keep the n most informative pairs (default: all)', intArg(1))
    .option(
      '--out <file>',
      'write labeling tasks, JSONL {"prompt","completions":[a,b],"meta":{"disagreement","p_a"}}, here (default: stdout); `rlhf feedback import` takes them',
    )
    .action((o) => {
      const members = loadEnsemble(o.ensemble);
      const cands = readCandidates(o.candidates);
      for (const i of cands.issues.slice(0, 10)) process.stderr.write(`skipped ${formatIssue(i)}\n`);
      if (cands.records.length === 0)
        throw new Error(`${o.candidates}: no candidate pairs (each prompt needs at least two different completions)`);
      const ranked = rankCandidates(members, cands.records).slice(0, o.top ?? Infinity);
      const lines = ranked.map((r) => JSON.stringify(toLabelingTask(r)));
      if (o.out) writeFileSync(o.out, lines.join('\n') + '\n');
      else process.stdout.write(lines.join('\n') + '\n');
      process.stderr.write(
        `select-pairs: ${cands.records.length} candidate pairs scored by ${members.length} members; ${ranked.length} written\n`,
      );
    });
}

export function registerCurve(program: Command): void {
  const curve = program.command('curve').description('scaling curves');
  const d = defaultRewardConfig;
  curve
    .command('reward')
    .description(
      'reward-model eval accuracy against training-set size (and model size): curve.md, curve.jsonl, curve.svg',
    )
    .requiredOption('--train <file>', 'training comparisons')
    .option('--eval <file>', 'eval comparisons (default: --eval-fraction of --train by prompt hash)')
    .requiredOption('--out <dir>', 'output directory (one run per point under runs/)')
    .option('--format <name>', `input format: ${FORMAT_NAMES.join(', ')}`, choiceArg(FORMAT_NAMES))
    .option('--sizes <list>', 'comma-separated training-set sizes (default: 1/8, 1/4, 1/2 and all of the training set)')
    .option('--presets <list>', `comma-separated model sizes from ${Object.keys(PRESETS).join(', ')}`, 'tiny,mini')
    .option('--vocab-size <n>', "vocabulary of each run's tokenizer", intArg(258), d.vocabSize)
    .option('--context <n>', 'longest scored sequence in tokens', intArg(4), d.contextLength)
    .option('--epochs <x>', 'passes over each subset', floatArg(0.001), d.epochs)
    .option('--batch-size <n>', 'comparisons per step', intArg(1), d.batchSize)
    .option('--lr <x>', 'peak learning rate', floatArg(0), d.lr)
    .option('--eval-fraction <x>', 'held out by prompt hash when no --eval is given', floatArg(0, 0.99), d.evalFraction)
    .option('--seed <n>', 'random seed', intArg(0), 0)
    .action(async (o) => {
      const all = loadComparisons(o.train, o.format);
      const { train, eval: ev } = o.eval
        ? { train: all, eval: loadComparisons(o.eval, o.format) }
        : splitComparisons(all, o.evalFraction);
      const presets = String(o.presets)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const p of presets)
        if (!PRESETS[p])
          throw new Error(`--presets: unknown model size "${p}"; choose from ${Object.keys(PRESETS).join(', ')}`);
      const sizes = o.sizes
        ? String(o.sizes)
            .split(',')
            .map((s) => intArg(1)(s.trim()))
        : defaultSizes(train.length);
      const points = await rewardCurve(
        train,
        ev,
        {
          ...d,
          outDir: o.out,
          vocabSize: o.vocabSize,
          contextLength: o.context,
          epochs: o.epochs,
          batchSize: o.batchSize,
          lr: o.lr,
          evalEvery: 0,
          seed: o.seed,
          quiet: true,
        },
        presets,
        sizes,
        (m) => process.stderr.write(m + '\n'),
      );
      process.stdout.write(curveTable(points));
    });
}
