// `rlhf train reward` and `rlhf score`: reward models from comparisons.

import { Command } from 'commander';
import { FORMAT_NAMES } from '../data/read-comparisons.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue } from '../data/jsonl.js';
import { PRESETS } from '../model/config.js';
import { RewardModel } from '../model/reward-model.js';
import { scoreRewardTokens } from '../runtime/reward.js';
import { rewardOptions } from '../train/reward-config.js';
import { readCandidates } from '../data/candidates.js';
import { curveTable, defaultSizes, rewardCurve } from '../train/curve.js';
import { loadEnsemble, rankCandidates, toLabelingTask, trainEnsemble } from '../train/ensemble.js';
import { splitComparisons, splitHoldout, trainRewardModel } from '../train/reward.js';
import { choiceArg, floatArg, intArg } from './args.js';
import { CHAT_TEMPLATE_FLAG, loadChatTemplateFor, loadComparisons } from './inputs.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';

export function registerRewardTraining(train: Command): void {
  const cmd = train
    .command('reward')
    .description(
      'train a reward model on comparisons (Bradley-Terry): TRL preference JSONL, our comparison JSONL, OpenAI ' +
        'summarize-from-feedback, scored items',
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
      '--ensemble <k>',
      'train k members (seeds seed…seed+k−1) into OUT/member-i, with OUT/ensemble.json',
      intArg(2),
    )
    .option('--bootstrap', 'with --ensemble: each member trains on a bootstrap resample of the comparisons', false)
    .option(
      '--split-holdout <fraction>',
      'also train a second, holdout reward model into OUT/holdout on this fraction of the training comparisons ' +
        "(by prompt hash; seed + 1), and the model in OUT on the rest: the over-optimization monitor's " +
        "--monitor-holdout-reward, a judge the proxy's training never saw",
      floatArg(0, 1),
    )
    .option(...CHAT_TEMPLATE_FLAG);
  addOptions(cmd, rewardOptions).action((o) => {
    const cfg = {
      ...readOptions(rewardOptions, o),
      outDir: o.out as string,
      init: o.init as string | undefined,
      chatTemplate: loadChatTemplateFor(o.chatTemplate, [o.init]),
    };
    const all = loadComparisons(o.train, o.format);
    const { train, eval: ev } = o.eval
      ? { train: all, eval: loadComparisons(o.eval, o.format) }
      : splitComparisons(all, cfg.evalFraction);
    writeTrainConfig('reward', rewardOptions, o);
    const pct = (x?: number) => (x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)}%`);
    if (o.splitHoldout !== undefined) {
      if (o.ensemble) throw new Error('--split-holdout and --ensemble go separately: train the ensemble on its own');
      const parts = splitHoldout(train, o.splitHoldout);
      const log = (m: string) => process.stderr.write(m + '\n');
      log(
        `reward: --split-holdout ${o.splitHoldout}: ${parts.proxy.length} comparisons for ${o.out}, ` +
          `${parts.holdout.length} for ${join(o.out, 'holdout')} (the same ${ev.length} eval comparisons)`,
      );
      const main = trainRewardModel(parts.proxy, ev, cfg, log).result;
      const held = trainRewardModel(
        parts.holdout,
        ev,
        { ...cfg, seed: cfg.seed + 1, outDir: join(o.out, 'holdout') },
        log,
      ).result;
      process.stdout.write(
        `reward: eval accuracy ${pct(main.eval?.accuracy)} (${parts.proxy.length} comparisons) in ${o.out}; ` +
          `holdout model ${pct(held.eval?.accuracy)} (${parts.holdout.length} comparisons) in ` +
          `${join(o.out, 'holdout')}\n`,
      );
      return;
    }
    if (o.ensemble) {
      const m = trainEnsemble(train, ev, cfg, o.ensemble, o.bootstrap, (msg) => process.stderr.write(msg + '\n'));
      process.stdout.write(
        `reward ensemble: ${m.members.length} members; eval accuracy of the mean reward ` +
          `${pct(m.eval?.accuracy)}, members ${m.memberEval.map((e) => pct(e?.accuracy)).join(', ')}; ` +
          `${o.out}/ensemble.json\n`,
      );
      return;
    }
    const { result } = trainRewardModel(train, ev, cfg);
    process.stdout.write(
      `reward: ${result.steps} steps in ${result.seconds.toFixed(0)}s; train accuracy ${pct(result.train.accuracy)}, ` +
        `eval accuracy ${pct(result.eval?.accuracy)} on ${result.eval?.pairs ?? 0} pairs` +
        `${result.hard ? `, hard ${pct(result.hard.accuracy)} on ${result.hard.pairs}` : ''}; checkpoint and ` +
        `metrics.json in ${o.out}\n`,
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
      // A conversational record's messages go along: a chat reward model renders them as it was trained to.
      const rewards = scoreRewardTokens(
        rm,
        comps.flatMap((c) =>
          c.completions.map((x, k) =>
            rm.encode(c.prompt, x, c.chat && { prompt: c.chat.prompt, completion: c.chat.completions[k] }),
          ),
        ),
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
      'write labeling tasks, JSONL {"prompt","completions":[a,b],"meta":{"disagreement","p_a"}}, here (default: ' +
        'stdout); `rlhf feedback import` takes them',
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
        `select-pairs: ${cands.records.length} candidate pairs scored by ${members.length} members; ` +
          `${ranked.length} written\n`,
      );
    });
}

/** The reward trainer's options `rlhf curve reward` takes: each run's data, model and optimizer. */
const CURVE_KEYS = ['vocabSize', 'contextLength', 'epochs', 'batchSize', 'lr', 'evalFraction', 'seed'] as const;

export function registerCurve(program: Command): void {
  const curve = program.command('curve').description('scaling curves');
  const cmd = curve
    .command('reward')
    .description(
      'reward-model eval accuracy against training-set size (and model size): curve.md, curve.jsonl, curve.svg',
    )
    .requiredOption('--train <file>', 'training comparisons')
    .option('--eval <file>', 'eval comparisons (default: --eval-fraction of --train by prompt hash)')
    .requiredOption('--out <dir>', 'output directory (one run per point under runs/)')
    .option('--format <name>', `input format: ${FORMAT_NAMES.join(', ')}`, choiceArg(FORMAT_NAMES))
    .option('--sizes <list>', 'comma-separated training-set sizes (default: 1/8, 1/4, 1/2 and all of the training set)')
    .option('--presets <list>', `comma-separated model sizes from ${Object.keys(PRESETS).join(', ')}`, 'tiny,mini');
  addOptions(cmd, rewardOptions, [...CURVE_KEYS]).action(async (o) => {
    const cfg = { ...readOptions(rewardOptions, o, [...CURVE_KEYS]), outDir: o.out as string };
    const all = loadComparisons(o.train, o.format);
    const { train, eval: ev } = o.eval
      ? { train: all, eval: loadComparisons(o.eval, o.format) }
      : splitComparisons(all, cfg.evalFraction);
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
    const points = await rewardCurve(train, ev, { ...cfg, evalEvery: 0, quiet: true }, presets, sizes, (m) =>
      process.stderr.write(m + '\n'),
    );
    process.stdout.write(curveTable(points));
  });
}
