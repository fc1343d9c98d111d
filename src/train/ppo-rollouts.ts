// PPO's first phase: a batch of rollouts. The policy samples a completion of each prompt, the reward
// function scores it, and the policy (with its value head) and the frozen reference give per-token
// log-probs and values on a (P, Tc) grid of completion tokens: row p's token j sits at p·Tc + j.

import { splitEvenly } from '../engine/split.js';
import { type RewardLike, asRewardSet } from './reward-fn.js';
import type { TokenPair } from '../model/logprobs.js';
import { type Replica, runSharded, shardCount } from '../runtime/replica.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { sampleTexts } from './generator.js';
import { encodePrompt, promptRoom } from '../model/prompt.js';
import { type RolloutShard, kernels } from './kernels.js';
import type { PPOOptions } from './ppo-config.js';

export type RolloutFinish = 'stop' | 'length';

export interface Rollouts {
  /** (P) the prompts, as given (what is scored with each completion). */
  prompts: string[];
  /**
   * (P) prompt ids (cut from the left to leave room for the completion) and completion ids, ending
   * with the end-of-text token or the token that completed a stop text when the completion finished.
   */
  pairs: TokenPair[];
  /** (P) the completions' text, as scored: decoded, without the stop text or end-of-text that ended it. */
  texts: string[];
  /** (P) 'stop': ended by end-of-text or a stop text; 'length': cut at maxNewTokens (or the context). */
  finishReasons: RolloutFinish[];
  /** (P) the reward function's scores (with several rewards, their weighted total). */
  scores: number[];
  /** (P) each reward's own scores, by name. */
  perFunction: Record<string, number[]>;
  /** Longest completion, in tokens: the width of the grids. */
  Tc: number;
  /** (P·Tc) 1 on completion tokens. */
  mask: Float32Array;
  /** (P·Tc) log-probs of the sampled tokens under the policy and under the reference. */
  logp: Float32Array;
  logpRef: Float32Array;
  /** (P·Tc) the value head's predictions before each completion token. */
  values: Float32Array;
}

/** The prompts of iteration `it`: the next rolloutBatch prompts, cycling through the list. */
export function rolloutPrompts(prompts: string[], it: number, batch: number): string[] {
  return Array.from({ length: batch }, (_, i) => prompts[(it * batch + i) % prompts.length]);
}

/** What collectRollouts takes of the configuration. */
export type RolloutOptions = Pick<PPOOptions, 'maxNewTokens' | 'temperature' | 'stop' | 'seed'>;

/** Seconds spent in each part, added to by collectRollouts. */
export interface RolloutClock {
  generation: number;
  scoring: number;
  logprobs: number;
}

/**
 * The rollouts of iteration `it`. `policy` is the replica being trained (models.policy and
 * heads.value); `ref` the frozen reference's (models.policy only).
 */
export async function collectRollouts(
  policy: Replica,
  ref: Replica,
  tok: Tokenizer,
  prompts: string[],
  reward: RewardLike,
  o: RolloutOptions,
  it: number,
  clock: RolloutClock,
): Promise<Rollouts> {
  const now = () => performance.now() / 1000;
  const ctx = policy.models.policy.config.nPositions;
  let t0 = now();
  const promptIds = prompts.map((p) => encodePrompt(tok, p, promptRoom(ctx, o.maxNewTokens)));
  // NOTE: cut at the stop strings exactly as evaluation's samples are: the completion trained is
  // the tokens up to the one that completes a stop text, and its text before the stop is scored.
  const samples = sampleTexts(policy.models.policy, tok, promptIds, {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    stop: o.stop,
    seed: o.seed * 7919 + it,
  });
  const pairs: TokenPair[] = samples.map((s, i) => ({ prompt: promptIds[i], completion: s.tokenIds }));
  const texts = samples.map((s) => s.text);
  clock.generation += now() - t0;

  t0 = now();
  const { total: scores, perFunction } = await asRewardSet(reward).score(
    prompts.map((prompt, i) => ({ prompt, completion: texts[i] })),
  );
  clock.scoring += now() - t0;

  t0 = now();
  const P = pairs.length,
    Tc = Math.max(...pairs.map((p) => p.completion.length));
  const mask = new Float32Array(P * Tc);
  pairs.forEach((p, b) => mask.fill(1, b * Tc, b * Tc + p.completion.length));
  // The reference runs the policy's kernel as a replica of its own, so both log-probs are taken of
  // the same distribution: the one sampled from (temperature, tokenizer vocabulary).
  const shards = splitPairs(pairs, { padId: tok.eosId, Tc, temperature: o.temperature, vocabSize: tok.vocabSize });
  const grid = gridOf(runSharded(policy, kernels.rolloutShard, shards), P, Tc);
  const refGrid = gridOf(runSharded(ref, kernels.rolloutShard, shards), P, Tc);
  clock.logprobs += now() - t0;
  return {
    prompts,
    pairs,
    texts,
    finishReasons: samples.map((s) => (s.finishReason === 'stop' ? 'stop' : 'length')),
    scores,
    perFunction,
    Tc,
    mask,
    logp: grid.logp,
    logpRef: refGrid.logp,
    values: grid.values,
  };
}

/** Rollout pairs split into one shard per thread. */
function splitPairs(pairs: TokenPair[], o: Omit<RolloutShard, 'pairs'>): RolloutShard[] {
  const n = Math.min(shardCount(), pairs.length);
  return splitEvenly(pairs, n).map((part) => ({ ...o, pairs: part }));
}

/** The shards' per-token numbers laid end to end on the (P, Tc) grid. */
function gridOf(
  parts: { logp: number[]; values: number[] | null }[],
  P: number,
  Tc: number,
): { logp: Float32Array; values: Float32Array } {
  const logp = new Float32Array(P * Tc),
    values = new Float32Array(P * Tc);
  let o = 0;
  for (const part of parts) {
    logp.set(part.logp, o);
    if (part.values) values.set(part.values, o);
    o += part.logp.length;
  }
  return { logp, values };
}
