// `rlhf train rest`: Reinforced Self-Training against a reward (models, servers or code).

import type { Command } from 'commander';
import { join } from 'node:path';
import { restOptions } from '../train/rest-config.js';
import { trainReST } from '../train/rest.js';
import { intArg } from './args.js';
import { loadDemonstrations, loadPolicy, loadPromptRows } from './inputs.js';
import { addMonitorOptions, monitorLine, monitorSetupFrom } from './monitor.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';
import { addRewardOptions, rewardSetFrom } from './reward-options.js';
import { addGeneratorOptions, remoteGeneratorFrom } from './serve-model.js';

export function registerReST(train: Command): void {
  const cmd = train
    .command('rest')
    .description(
      'ReST: grow (sample and score) then improve (fine-tune on samples above rising reward percentiles), repeated',
    )
    .requiredOption('--init <dir>', 'the starting policy (an SFT checkpoint)')
    .requiredOption('--prompts <file>', 'JSONL of {"prompt": …} (other fields go to reward modules as columns)');
  addRewardOptions(cmd)
    .requiredOption(
      '--out <dir>',
      'checkpoint directory (the improved policy, metrics.jsonl, rest.jsonl, samples.jsonl, summary.json)',
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
  addMonitorOptions(cmd);
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
      const rows = loadPromptRows(o.prompts);
      const demonstrations = o.demonstrations ? loadDemonstrations(o.demonstrations) : undefined;
      const heldOutRows = o.heldOut ? loadPromptRows(o.heldOut) : undefined;
      // Grow's samples are kept in OUT/generations.jsonl, so a run started again asks only for what is missing.
      const remote = remoteGeneratorFrom(o, {
        batchSize: o.generatorBatch,
        cacheFile: join(o.out, 'generations.jsonl'),
      });
      const reward = await rewardSetFrom(o, { rows: [...rows, ...(heldOutRows ?? [])], promptsFile: o.prompts });
      writeTrainConfig('rest', restOptions, o);
      const monitor = await monitorSetupFrom(o);
      const r = await trainReST(
        ck.model,
        ck.tokenizer,
        rows.map((row) => row.prompt),
        reward,
        cfg,
        (m) => process.stderr.write(m + '\n'),
        { generator: remote ?? undefined, demonstrations, heldOut: heldOutRows?.map((row) => row.prompt), monitor },
      );
      process.stdout.write(
        `rest: mean reward ${r.meanReward.map((x) => x.toFixed(3)).join(' → ')} (start, then after each Grow); ` +
          `policy in ${o.out}\n${monitorLine(r.monitor, 'improve step', o.out)}`,
      );
    });
}
