// `--reward SPEC` (repeatable) and `--reward-weights LIST`, declared once for every command that scores
// samples: train ppo, rest, grpo, rloo, online-dpo and sample --best-of. Each spec is a reward-model
// directory, a `rlhf serve-reward` URL or a JavaScript/TypeScript module (docs/training.md, "Rewards as code").

import { type Command, InvalidArgumentError } from 'commander';
import { type RewardSetOptions, loadRewardSet, withPromptColumns } from '../remote/reward-set.js';
import type { RewardSet } from '../train/reward-fn.js';
import { collect } from './args.js';
import { type PromptRow, columnsByPrompt } from './inputs.js';

/** What the two flags parse to (commander's attribute names). */
export interface RewardFlags {
  reward?: string[];
  rewardWeights?: number[];
}

export const REWARD_FLAG = '--reward <dir|url|module>';

const REWARD_HELP =
  'a reward: a reward-model directory (from `rlhf train reward`), the URL of `rlhf serve-reward`, or a ' +
  'JavaScript/TypeScript module (.js .mjs .cjs .ts .mts) whose default export scores ' +
  '({ prompts, completions, ...columns }); repeat it to add rewards';

/** "1,0.5,-2": one finite number per --reward. */
export function parseRewardWeights(v: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const ws = parts.map(Number);
  const bad = parts.findIndex((s, i) => s === '' || !Number.isFinite(ws[i]));
  if (bad >= 0)
    throw new InvalidArgumentError(
      `expected comma-separated numbers, one per --reward (e.g. 1,0.5), got "${v}" ("${parts[bad]}" is not a number)`,
    );
  return ws;
}

/**
 * Adds --reward (repeatable; required unless `optional`) and --reward-weights to `cmd`. `purpose` ends
 * the help of --reward (e.g. "for --best-of").
 */
export function addRewardOptions(cmd: Command, opts: { optional?: boolean; purpose?: string } = {}): Command {
  const help = opts.purpose ? `${REWARD_HELP}; ${opts.purpose}` : REWARD_HELP;
  if (opts.optional) cmd.option(REWARD_FLAG, help, collect);
  else cmd.requiredOption(REWARD_FLAG, help, collect);
  return cmd.option(
    '--reward-weights <list>',
    'comma-separated weight of each --reward, in their order (default: all 1): the reward is their weighted ' +
      'sum, and each one is logged on its own',
    parseRewardWeights,
  );
}

/** True when the command line gave at least one --reward. */
export function hasReward(o: RewardFlags): boolean {
  return (o.reward?.length ?? 0) > 0;
}

/**
 * The reward set of the parsed flags; serve-reward URLs are asked for their model first, so a server that
 * is down fails before sampling. `rows` (the prompt file's records) give each prompt's other fields to
 * rewards written as code, for trainers that pass prompts only. Says on stderr what it scores with.
 */
export async function rewardSetFrom(
  o: RewardFlags,
  opts: { rows?: PromptRow[]; promptsFile?: string; log?: (m: string) => void } & RewardSetOptions = {},
): Promise<RewardSet> {
  if (!hasReward(o)) {
    if (o.rewardWeights) throw new Error('--reward-weights goes with --reward: give one --reward per weight');
    throw new Error(`give ${REWARD_FLAG} (repeatable)`);
  }
  const { rows, promptsFile, log = (m: string) => process.stderr.write(`${m}\n`), ...setOpts } = opts;
  const set = await loadRewardSet(o.reward as string[], o.rewardWeights, { probe: true, ...setOpts });
  if (set.names.length > 1)
    log(`reward: ${set.names.map((n, i) => `${set.weights[i]} × ${n}`).join(' + ')} (each logged as rewards/NAME)`);
  return rows ? withPromptColumns(set, columnsByPrompt(rows, promptsFile ?? 'prompts')) : set;
}
