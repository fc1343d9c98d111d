// What a trainer optimizes: any function that scores completions of prompts. A reward-model
// checkpoint, a built-in gold judge, or a remote scorer all plug in through this one interface.

import type { ChatMessage } from '../model/chat-template.js';
import type { RewardModel } from '../model/reward-model.js';
import { scoreRewards } from '../runtime/reward.js';

export interface ScoredText {
  prompt: string;
  completion: string;
  /** The data row's other fields (e.g. `answer`), for rewards written as code. */
  columns?: Record<string, unknown>;
  /**
   * The prompt's messages, when the policy rendered them with a chat template (`prompt` is then that
   * rendering): a chat reward model renders these itself (src/model/chat-reward.ts); others read `prompt`.
   */
  messages?: ChatMessage[];
}

/** Scores (higher is better), one per item; may be async (a remote scorer). */
export type RewardFn = (items: ScoredText[]) => number[] | Promise<number[]>;

/** A reward-model checkpoint as a reward function (rewards centered by its bias). */
export function rewardModelFn(rm: RewardModel): RewardFn {
  return (items) => scoreRewards(rm, items);
}

/** True for an http(s):// URL (a reward server) rather than a directory. */
export function isRewardUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

/** Checks a reward function's answer: one finite number per item. */
export async function scoreWith(fn: RewardFn, items: ScoredText[]): Promise<number[]> {
  const r = await fn(items);
  if (!Array.isArray(r) || r.length !== items.length) {
    throw new Error(
      `reward function returned ${Array.isArray(r) ? r.length : typeof r} scores for ${items.length} items`,
    );
  }
  r.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`reward function gave item ${i} the score ${v}; scores must be finite numbers`);
  });
  return r;
}

/** Every reward's scores for a batch: the weighted total, and each reward's own (for logging). */
export interface RewardScores {
  total: number[];
  perFunction: Record<string, number[]>;
}

/**
 * Several rewards with weights (`--reward A --reward B --reward-weights 1,0.5`): what the online
 * trainers optimize. The CLI builds one from reward-model directories, serve-reward URLs and JS/TS
 * modules (src/remote/reward-set.ts); names are unique and are the keys of `perFunction`.
 */
export interface RewardSet {
  readonly names: string[];
  readonly weights: number[];
  score(items: ScoredText[]): Promise<RewardScores>;
}

/** One reward function as a set of one (weight 1). */
export function singleRewardSet(fn: RewardFn, name = 'reward'): RewardSet {
  return {
    names: [name],
    weights: [1],
    async score(items) {
      const total = await scoreWith(fn, items);
      return { total, perFunction: { [name]: total } };
    },
  };
}

/** A reward given as a function or as a set: the trainers take either. */
export type RewardLike = RewardFn | RewardSet;

/** A function as a set of one (named `name`); a set as it is. */
export function asRewardSet(r: RewardLike, name = 'reward'): RewardSet {
  return typeof r === 'function' ? singleRewardSet(r, name) : r;
}

/** Each reward's score of item i (for the samples files: `rewards` of a record). */
export function rewardsAt(perFunction: Record<string, number[]>, i: number): Record<string, number> {
  return Object.fromEntries(Object.entries(perFunction).map(([name, xs]) => [name, xs[i]]));
}

/**
 * Each reward's mean and standard deviation (unbiased, as TRL's) over a batch, under TRL's names
 * (`rewards/<name>/mean`, `rewards/<name>/std`), for the metrics of every trainer that samples and scores.
 */
export function rewardMetrics(s: RewardScores): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, xs] of Object.entries(s.perFunction)) {
    const n = xs.length;
    const mean = n ? xs.reduce((a, b) => a + b, 0) / n : 0;
    out[`rewards/${name}/mean`] = mean;
    out[`rewards/${name}/std`] = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  }
  return out;
}
