// What `rlhf train grpo` and `rlhf train rloo` share: the starting policy, prompt rows (their other fields go
// to the rewards as columns), rewards (--reward, reward-options.ts), the chat template, the --generator
// options, and the summary line.

import type { Command } from 'commander';
import type { Options, OptionsSpec, ValuesOf } from '../train/options.js';
import type { PolicyGradientInputs, PolicyGradientResult, PromptRow } from '../train/policy-gradient.js';
import type { RewardSet } from '../train/reward-fn.js';
import type { Checkpoint } from '../model/checkpoint.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { CHAT_TEMPLATE_FLAG, loadChatTemplateFor, loadPolicy, loadPromptRows } from './inputs.js';
import { addMonitorOptions, monitorLine, monitorSetupFrom } from './monitor.js';
import { addOptions, readOptions } from './options.js';
import { writeTrainConfig } from './train-config.js';
import { addRewardOptions, rewardSetFrom } from './reward-options.js';
import { addGeneratorOptions, remoteGeneratorFrom } from './serve-model.js';

/** How one trainer plugs in. */
export interface PolicyGradientCommand<S extends OptionsSpec> {
  name: 'grpo' | 'rloo';
  description: string;
  options: Options<S>;
  /** Adds the trainer's own flags besides its declared options (e.g. --no-scale-rewards). */
  configure?(cmd: Command): void;
  /** Flags parsed → values the declaration reads (e.g. --no-scale-rewards → scaleRewards 'none'). */
  normalize?(o: Record<string, unknown>): void;
  train(
    ck: Checkpoint & { tokenizer: Tokenizer },
    rows: PromptRow[],
    rewards: RewardSet,
    cfg: ValuesOf<S> & { outDir: string },
    log: (m: string) => void,
    inputs: PolicyGradientInputs,
  ): Promise<PolicyGradientResult>;
}

export function registerPolicyGradient<S extends OptionsSpec>(train: Command, c: PolicyGradientCommand<S>): void {
  const cmd = train
    .command(c.name)
    .description(c.description)
    .requiredOption(
      '--init <dir>',
      'the starting policy (an SFT checkpoint); also the frozen reference when --beta > 0 (give it again with ' +
        '--resume)',
    )
    .requiredOption(
      '--prompts <file>',
      'JSONL of {"prompt": "…"} or {"prompt": [messages]}; the other fields of each record go to the rewards',
    )
    .requiredOption(
      '--out <dir>',
      'run directory: the policy, metrics.jsonl, samples.jsonl, summary.json (and the state --resume reads)',
    )
    .option(...CHAT_TEMPLATE_FLAG);
  addRewardOptions(cmd);
  addOptions(cmd, c.options);
  c.configure?.(cmd);
  addMonitorOptions(cmd);
  addGeneratorOptions(cmd).action(async (o) => {
    c.normalize?.(o);
    const cfg = { ...readOptions(c.options, o), outDir: o.out as string };
    const remote = remoteGeneratorFrom(o, { batchSize: 64 });
    // The rewards first: a serve-reward URL that is down fails before anything big is read.
    const rewards = await rewardSetFrom(o);
    const monitor = await monitorSetupFrom(o, { chat: true });
    const ck = loadPolicy(o.init);
    const rows = loadPromptRows(o.prompts, { chat: true });
    const chatTemplate = loadChatTemplateFor(o.chatTemplate, [o.init], ck.tokenizer);
    const log = (m: string) => process.stderr.write(m + '\n');
    writeTrainConfig(c.name, c.options, o);
    const r = await c.train(ck, rows, rewards, cfg, log, { generator: remote ?? undefined, chatTemplate, monitor });
    const n = r.rewards.length,
      k = Math.min(3, n);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    process.stdout.write(
      `${c.name}: ${n} steps; mean reward ${mean(r.rewards.slice(0, k)).toFixed(3)} → ` +
        `${mean(r.rewards.slice(-k)).toFixed(3)} (first/last ${k})` +
        `${r.kl.some((x) => x !== 0) ? `, KL ${r.kl[n - 1].toFixed(3)} nats/token` : ''}; policy in ${o.out}\n` +
        monitorLine(r.monitor, 'step', o.out),
    );
  });
}
