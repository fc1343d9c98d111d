// What a trainer optimizes: any function that scores completions of prompts. A reward-model
// checkpoint, a built-in gold judge, or a remote scorer all plug in through this one interface.

import type { RewardModel } from '../model/reward-model.js';
import { scoreRewards } from '../runtime/reward.js';

export interface ScoredText {
  prompt: string;
  completion: string;
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
