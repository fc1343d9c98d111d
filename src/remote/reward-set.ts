// `--reward SPEC` (repeatable) with `--reward-weights`: several rewards, each a reward-model directory,
// a `rlhf serve-reward` URL or a JavaScript/TypeScript module (reward-module.ts), summed with weights.
// Each reward keeps a readable, unique name, under which its scores are logged.

import { existsSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import {
  type RewardFn,
  type RewardScores,
  type RewardSet,
  type ScoredText,
  isRewardUrl,
  scoreWith,
} from '../train/reward-fn.js';
import { type RemoteRewardOptions, loadRewardFn, probeRewardServer, remoteRewardFn } from './reward-client.js';
import { REWARD_MODULE_EXTENSIONS, importRewardModule, isRewardModulePath, moduleRewardFn } from './reward-module.js';

export type RewardKind = 'model' | 'url' | 'module';

export interface RewardSetOptions {
  /** HTTP settings for serve-reward URLs (default: the RLHF_REMOTE_* variables). */
  http?: RemoteRewardOptions;
  /** Ask each serve-reward URL for its model now (GET /v1/models), so a server that is down fails before a run. */
  probe?: boolean;
}

/** What one `--reward` spec is. */
export function rewardKindOf(spec: string): RewardKind {
  if (isRewardUrl(spec)) return 'url';
  if (isRewardModulePath(spec)) return 'module';
  if (existsSync(spec) && statSync(spec).isDirectory()) return 'model';
  const what = existsSync(spec) ? 'is a file, but not a reward module' : 'does not exist';
  throw new Error(
    `--reward ${spec} ${what}; give a reward-model directory (from \`rlhf train reward\`), the URL of ` +
      `\`rlhf serve-reward\` (http://…), or a reward module (${REWARD_MODULE_EXTENSIONS.join(' ')})`,
  );
}

/** A readable name: the module's base name, the directory's, or the URL's host. */
function baseName(spec: string, kind: RewardKind): string {
  if (kind === 'url') return URL.canParse(spec) ? new URL(spec).host : spec;
  const b = basename(resolve(spec));
  return kind === 'module' ? b.slice(0, b.length - extname(b).length) : b;
}

/** Names made unique with a suffix: a, a-2, a-3. */
export function uniqueNames(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((n) => {
    let name = n || 'reward';
    for (let k = 2; used.has(name); k++) name = `${n}-${k}`;
    used.add(name);
    return name;
  });
}

/** The weights of `count` rewards: all 1 by default; else one finite number per reward. */
export function checkRewardWeights(count: number, names: string[], weights?: number[]): number[] {
  if (weights === undefined) return Array(count).fill(1);
  if (weights.length !== count)
    throw new Error(
      `--reward-weights has ${weights.length} weight${weights.length === 1 ? '' : 's'} for ${count} reward` +
        `${count === 1 ? '' : 's'} (${names.join(', ')}); give one per --reward, in the same order`,
    );
  weights.forEach((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w))
      throw new Error(`--reward-weights: the weight of ${names[i]} is ${w}; weights must be finite numbers`);
  });
  return [...weights];
}

async function loadOne(spec: string, kind: RewardKind, opts: RewardSetOptions): Promise<RewardFn> {
  if (kind === 'module') return moduleRewardFn(spec, await importRewardModule(spec));
  if (kind === 'url') {
    if (opts.probe) await probeRewardServer(spec, opts.http);
    return opts.http ? remoteRewardFn(spec, opts.http) : loadRewardFn(spec);
  }
  return loadRewardFn(spec);
}

/**
 * The rewards of `specs` (each a reward-model directory, a serve-reward URL or a .js/.mjs/.cjs/.ts/.mts
 * module) as one set: `score` gives each reward's scores and their weighted total (weights default to 1).
 * A bad answer from any of them stops scoring with an error that names it.
 */
export async function loadRewardSet(
  specs: string[],
  weights?: number[],
  opts: RewardSetOptions = {},
): Promise<RewardSet> {
  if (specs.length === 0)
    throw new Error('no --reward given; give a reward-model directory, a serve-reward URL or a reward module');
  const kinds = specs.map(rewardKindOf);
  const names = uniqueNames(specs.map((s, i) => baseName(s, kinds[i])));
  const w = checkRewardWeights(specs.length, names, weights);
  const fns: RewardFn[] = [];
  for (let i = 0; i < specs.length; i++) fns.push(await loadOne(specs[i], kinds[i], opts));
  return rewardSetOf(names, w, fns, specs);
}

/** Named reward functions with weights as a set; `labels` (default: the names) say who failed in errors. */
export function rewardSetOf(names: string[], weights: number[], fns: RewardFn[], labels = names): RewardSet {
  return {
    names: [...names],
    weights: [...weights],
    async score(items: ScoredText[]): Promise<RewardScores> {
      const total = new Array<number>(items.length).fill(0);
      const perFunction: Record<string, number[]> = {};
      // NOTE: one after another, so the first failure is the one reported, and a reward model's scoring
      // (CPU-bound) does not compete with another's.
      for (let j = 0; j < fns.length; j++) {
        let s: number[];
        try {
          s = await scoreWith(fns[j], items);
        } catch (e) {
          const msg = (e as Error).message;
          if (msg.startsWith('reward module')) throw e;
          throw new Error(`reward ${names[j]} (${labels[j]}): ${msg}`, { cause: e });
        }
        perFunction[names[j]] = s;
        for (let i = 0; i < s.length; i++) total[i] += weights[j] * s[i];
      }
      return { total, perFunction };
    },
  };
}

/**
 * A set whose items get the columns of their prompt's data row (`columns`, by prompt text), for trainers
 * that pass prompts only. Items that carry their own columns keep them.
 */
export function withPromptColumns(set: RewardSet, columns: ReadonlyMap<string, Record<string, unknown>>): RewardSet {
  if (columns.size === 0) return set;
  return {
    names: set.names,
    weights: set.weights,
    score: (items) => set.score(items.map((it) => (it.columns ? it : { ...it, columns: columns.get(it.prompt) }))),
  };
}
