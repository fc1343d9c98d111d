// Reward-model scoring, batched and split across the worker pool.

import { defineKernel } from '../engine/parallel.js';
import type { ChatMessage } from '../model/chat-template.js';
import { type RewardModel, type SeqBatch, padSequences, scoreSequences } from '../model/reward-model.js';
import { type Replica, runSharded, shardCount } from './replica.js';

/** A reward model's trunk and head under the roles the reward kernels read ('reward', 'score'). */
export function rewardReplica(rm: RewardModel): Replica {
  return { models: { reward: rm.model }, heads: { score: rm.head } };
}

export interface ScoreShard {
  batch: SeqBatch;
}

/** Per-thread scoring (no gradients), before the centering bias. */
export function scoreShard(r: Replica, s: ScoreShard): number[] {
  return scoreSequences(r.models.reward, r.heads.score, s.batch);
}

/** A (prompt, completion) pair to score. */
export interface RewardItem {
  prompt: string;
  completion: string;
  /**
   * The prompt's messages, when the prompt is a conversation (a policy that rendered it with its chat template
   * passes them): a chat reward model renders these instead of `prompt`; a plain one scores the text.
   */
  messages?: readonly ChatMessage[];
}

/** Rewards of (prompt, completion) pairs, gain·(raw − bias); batched and split across threads. */
export function scoreRewards(rm: RewardModel, items: RewardItem[], batchSize = 32): number[] {
  return scoreRewardTokens(
    rm,
    items.map((it) => rm.encode(it.prompt, it.completion, it.messages && { prompt: it.messages })),
    batchSize,
  );
}

/** Rewards of already-encoded sequences (each ending with its last scored token), gain·(raw − bias). */
export function scoreRewardTokens(rm: RewardModel, seqs: ArrayLike<number>[], batchSize = 32): number[] {
  const out: number[] = [];
  const threads = shardCount();
  const replica = rewardReplica(rm);
  for (let i = 0; i < seqs.length; i += batchSize * threads) {
    const shards: ScoreShard[] = [];
    for (let k = 0; k < threads; k++) {
      const part = seqs.slice(i + k * batchSize, i + (k + 1) * batchSize);
      if (part.length) shards.push({ batch: padSequences(part, rm.tokenizer.eosId) });
    }
    for (const rs of runSharded(replica, scoreKernel, shards)) for (const r of rs) out.push(rm.gain * (r - rm.bias));
  }
  return out;
}

const scoreKernel = defineKernel(import.meta.url, { scoreShard });
