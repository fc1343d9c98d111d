// `rlhf train rest`: Reinforced Self-Training against a reward model.

import { Command } from 'commander';
import { join } from 'node:path';
import { isRewardUrl } from '../judge/reward-fn.js';
import { loadRewardFn, probeRewardServer } from '../remote/reward-client.js';
import { defaultReSTConfig, trainReST } from '../train/rest.js';
import { floatArg, intArg } from './args.js';
import { loadPolicy, loadPrompts } from './inputs.js';
import { addGeneratorOptions, remoteGeneratorFrom } from './serve-model.js';

export function registerReST(train: Command): void {
  const d = defaultReSTConfig;
  const cmd = train
    .command('rest')
    .description(
      'ReST: grow (sample and score) then improve (fine-tune on samples above rising reward percentiles), repeated',
    )
    .requiredOption('--init <dir>', 'the starting policy (an SFT checkpoint)')
    .requiredOption('--prompts <file>', 'JSONL of {"prompt": …}')
    .requiredOption(
      '--reward <dir|url>',
      'reward model directory (from `rlhf train reward`), or the URL of `rlhf serve-reward`',
    )
    .requiredOption(
      '--out <dir>',
      'checkpoint directory (the improved policy, metrics.jsonl, rest.jsonl, summary.json)',
    )
    .option('--grows <n>', 'Grow rounds', intArg(1), d.grows)
    .option(
      '--percentiles <list>',
      'rising reward percentiles of the Improve steps of each Grow',
      d.percentiles.join(','),
    )
    .option('--samples <n>', 'completions sampled per prompt at each Grow', intArg(1), d.samplesPerPrompt)
    .option(
      '--epochs-per-improve <x>',
      'passes over the kept samples at each Improve step',
      floatArg(0.001),
      d.epochsPerImprove,
    )
    .option('--batch-size <n>', 'sequences per fine-tuning step', intArg(1), d.batchSize)
    .option('--lr <x>', 'learning rate of the fine-tuning', floatArg(0), d.lr)
    .option('--max-new-tokens <n>', 'longest sampled completion', intArg(1), d.maxNewTokens)
    .option('--temperature <x>', 'sampling temperature at Grow', floatArg(0), d.temperature)
    .option('--reward-weighted', "weight each kept sample's loss by its reward above the threshold", false)
    .option('--seed <n>', 'random seed', intArg(0), d.seed)
    .option('--quiet', 'no progress output', false);
  addGeneratorOptions(cmd)
    .option(
      '--generator-batch <n>',
      "completions per request to --generator (64, as the built-in engine's Grow batches, gives the same samples for a seed)",
      intArg(1),
      64,
    )
    .action(async (o) => {
      const percentiles = String(o.percentiles)
        .split(',')
        .map((s) => floatArg(0, 99.999)(s.trim()));
      const ck = loadPolicy(o.init);
      const prompts = loadPrompts(o.prompts);
      // Grow's samples are kept in OUT/generations.jsonl, so a run started again asks only for what is missing.
      const remote = remoteGeneratorFrom(o, {
        batchSize: o.generatorBatch,
        cacheFile: join(o.out, 'generations.jsonl'),
      });
      if (isRewardUrl(o.reward)) await probeRewardServer(o.reward);
      const r = await trainReST(
        ck.model,
        ck.tokenizer,
        prompts,
        loadRewardFn(o.reward),
        {
          ...d,
          outDir: o.out,
          grows: o.grows,
          percentiles,
          samplesPerPrompt: o.samples,
          epochsPerImprove: o.epochsPerImprove,
          batchSize: o.batchSize,
          lr: o.lr,
          maxNewTokens: o.maxNewTokens,
          temperature: o.temperature,
          seed: o.seed,
          contextLength: ck.model.config.nPositions,
          rewardWeighted: o.rewardWeighted,
          quiet: o.quiet,
        },
        (m) => process.stderr.write(m + '\n'),
        remote ?? undefined,
      );
      process.stdout.write(
        `rest: mean reward ${r.meanReward.map((x) => x.toFixed(3)).join(' → ')} (start, then after each Grow); policy in ${o.out}\n`,
      );
    });
}
