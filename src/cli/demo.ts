// `rlhf demo`: the whole system on a built-in task, end to end, with a report.

import { Command } from 'commander';
import { demoConfig } from '../demo/config.js';
import { runDemo } from '../demo/pipeline.js';
import { METHODS } from '../demo/methods.js';
import { TASK_NAMES, TaskName } from '../tasks/index.js';
import { choiceArg, intArg } from './args.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole pipeline on a built-in task: pretrain → SFT → simulated labels → reward model → best-of-N, ' +
        'PPO, ReST, Chain of Hindsight, DPO → evaluation by a gold judge; writes DIR/report.html and ' +
        'DIR/summary.json (a rerun resumes)',
    )
    .option('--task <name>', `built-in task (${TASK_NAMES.join(', ')})`, choiceArg(TASK_NAMES), 'positive')
    .option('--out <dir>', 'output directory (every stage is cached there)', 'rlhf-demo')
    .option('--quick', 'a small, fast run (under a minute): a smoke test of the pipeline, not results', false)
    .option('--seed <n>', 'random seed', intArg(0), 0)
    .option('--fresh', 'delete the output directory first instead of resuming', false)
    .option(
      '--generator <url>',
      'sample on this OpenAI-compatible completions server instead of the built-in engine; it must take weights ' +
        '(`rlhf serve-model --accept-weights`)',
    )
    .option(
      '--scorer <url>',
      'score with this `rlhf serve-reward` server (serving DIR/reward) instead of loading the reward model here',
    )
    .addHelpText(
      'after',
      `
The full run took 9.5 minutes on 2 cores with OpenBLAS (tl;dr: 20.5 minutes with earlier code, and it
learns nothing at this size: see docs/measurements.md).
Each stage writes its outputs to DIR/<stage>/ and DIR/<stage>/stage.json when it finishes, so an
interrupted run picks up where it stopped.
With --generator, pairs, best-of-N, ReST's Grow and the evaluation sample on that server (each policy's
weights are sent to it first); PPO, GRPO and RLOO still sample here.
With --scorer, every reward-model score comes from that server (docs/remote.md).
summary.json has, for each method (${METHODS.join(', ')}): gold_score, gold_win_rate_vs_sft,
gold_win_rate_vs_reference, kl_to_sft, mean_length; and the reward model's accuracy_vs_gold next to the
simulated labelers' agreement; and overoptimization: the curve of a PPO run with no KL penalty and
where its gold and proxy scores part ways.`,
    )
    .action(
      async (o: {
        task: TaskName;
        out: string;
        quick: boolean;
        seed: number;
        fresh: boolean;
        generator?: string;
        scorer?: string;
      }) => {
        const cfg = demoConfig({
          task: o.task,
          outDir: o.out,
          quick: o.quick,
          seed: o.seed,
          generator: o.generator,
          scorer: o.scorer,
        });
        const s = await runDemo(cfg, (m) => process.stderr.write(m + '\n'), { fresh: o.fresh });
        const line = (k: (typeof METHODS)[number]) => {
          const e = s.methods[k];
          return (
            `  ${k.padEnd(10)} gold ${e.gold_score.toFixed(3)}  win vs SFT ` +
            `${(100 * e.gold_win_rate_vs_sft).toFixed(1).padStart(5)}%  win vs reference ` +
            `${(100 * e.gold_win_rate_vs_reference).toFixed(1).padStart(5)}%  KL ` +
            `${e.kl_to_sft.toFixed(2).padStart(5)}  length ${e.mean_length.toFixed(1)}`
          );
        };
        const p = s.overoptimization.parting;
        const over = !p
          ? ''
          : p.parted
            ? `\n  over-optimization (PPO, no KL penalty): gold peaks at ${p.gold.toFixed(3)} at KL ` +
              `${p.kl.toFixed(1)}; after it the proxy rises ${p.proxyChangeAfter.toFixed(3)} more while gold ` +
              `moves ${p.goldChangeAfter.toFixed(3)}`
            : `\n  over-optimization (PPO, no KL penalty): gold and proxy did not part ways (gold's peak ` +
              `${p.gold.toFixed(3)} at KL ${p.kl.toFixed(1)})`;
        process.stdout.write(
          `${METHODS.map(line).join('\n')}\n  reward model accuracy vs gold ` +
            `${(100 * s.reward_model.accuracy_vs_gold).toFixed(1)}% (labelers' agreement with gold ` +
            `${(100 * s.labelers.agreement).toFixed(1)}%, with each other ` +
            `${(100 * (s.labelers.between_labelers ?? NaN)).toFixed(1)}%)${over}\nreport: ${o.out}/report.html\n`,
        );
      },
    );
}
