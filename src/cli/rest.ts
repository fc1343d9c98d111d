// `rlhf train rest`: Reinforced Self-Training against a reward model.

import type { Command } from 'commander';
import { join } from 'node:path';
import { isRewardUrl } from '../train/reward-fn.js';
import { loadRewardFn, probeRewardServer } from '../remote/reward-client.js';
import { restOptions } from '../train/rest-config.js';
import { trainReST } from '../train/rest.js';
import { intArg } from './args.js';
import { loadDemonstrations, loadPolicy, loadPrompts } from './inputs.js';
import { addOptions, readOptions } from './options.js';
import { addGeneratorOptions, remoteGeneratorFrom } from './serve-model.js';

export function registerReST(train: Command): void {
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
    .option(
      '--held-out <file>',
      'JSONL {"prompt"} held out to stop early (instead of --held-out-fraction): an Improve step that does not ' +
        'raise their reward is undone, and its Grow Improves no further',
    )
    .option(
      '--demonstrations <file>',
      'JSONL {"prompt","completion"} (e.g. the SFT data) added to every Grow\'s samples, scored and kept by the ' +
        'same thresholds',
    );
  addOptions(cmd, restOptions);
  addGeneratorOptions(cmd)
    .option(
      '--generator-batch <n>',
      "completions per request to --generator (64, as the built-in engine's Grow batches, gives the same " +
        'samples for a seed)',
      intArg(1),
      64,
    )
    .action(async (o) => {
      const cfg = { ...readOptions(restOptions, o), outDir: o.out as string };
      if (o.heldOut && cfg.heldOutFraction > 0)
        throw new Error('give --held-out FILE or --held-out-fraction X, not both');
      const ck = loadPolicy(o.init);
      const prompts = loadPrompts(o.prompts);
      const demonstrations = o.demonstrations ? loadDemonstrations(o.demonstrations) : undefined;
      const heldOut = o.heldOut ? loadPrompts(o.heldOut) : undefined;
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
        cfg,
        (m) => process.stderr.write(m + '\n'),
        { generator: remote ?? undefined, demonstrations, heldOut },
      );
      process.stdout.write(
        `rest: mean reward ${r.meanReward.map((x) => x.toFixed(3)).join(' → ')} (start, then after each Grow); ` +
          `policy in ${o.out}\n`,
      );
    });
}
