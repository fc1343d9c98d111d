// GRPO's and RLOO's first phase: G completions of each prompt from a Generator (the built-in engine, or a
// server with --generator), scored by the reward set, then laid on a (N, Tc) grid of completion tokens
// (N = prompts·G, a prompt's G completions side by side: completion j of prompt p is row p·G + j), with
// the per-token log-probs the loss needs taken here, at the sampling temperature, with no gradients.

import { splitEvenly } from '../engine/split.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { ChatTemplate } from '../model/chat-template.js';
import type { TokenPair } from '../model/logprobs.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { type Replica, runSharded, shardCount } from '../runtime/replica.js';
import type { Completion, Generator } from './generator.js';
import { kernels } from './kernels.js';
import type { PolicyGradientOptions } from './policy-gradient-config.js';
import { type PromptRow, endIdOf, sampleScored, turnStops } from './prompt-samples.js';
import type { RewardSet } from './reward-fn.js';

export type { PromptRow } from './prompt-samples.js';

export type GroupFinish = 'stop' | 'length';

export interface GroupRollouts {
  /** (N) each completion's prompt as the rewards see it (a conversation rendered by the template). */
  prompts: string[];
  /** (N) token ids: the prompt (cut from its start to leave room) and the completion as trained. */
  pairs: TokenPair[];
  /** (N) the completions' text as scored, without the stop text or end-of-text that ended them. */
  texts: string[];
  finishReasons: GroupFinish[];
  /** (N) the weighted total of the rewards, and each reward's own scores. */
  rewards: number[];
  perFunction: Record<string, number[]>;
  /** Longest completion, in tokens: the width of the grids. */
  Tc: number;
  /** (N·Tc) 1 on completion tokens. */
  mask: Float32Array;
}

/** The prompts of step `step`: the next `batch` rows in `order` (an epoch permutation), cycling. */
export function stepRows(rows: PromptRow[], order: (k: number) => number, step: number, batch: number): PromptRow[] {
  return Array.from({ length: batch }, (_, i) => rows[order(step * batch + i)]);
}

/** What sampleGroups takes of the configuration. */
export type GroupSampling = Pick<
  PolicyGradientOptions,
  'numGenerations' | 'maxCompletionLength' | 'temperature' | 'stop' | 'seed' | 'maskTruncatedCompletions'
>;

/** Seconds spent in each part, added to by sampleGroups and groupLogProbs. */
export interface GroupClock {
  generation: number;
  scoring: number;
  logprobs: number;
}

/** The first stop text in `text`, or null. */
function firstStop(text: string, stop: readonly string[]): number | null {
  let at: number | null = null;
  for (const s of stop) {
    const i = text.indexOf(s);
    if (i >= 0 && (at === null || i < at)) at = i;
  }
  return at;
}

/**
 * The completion as scored and as trained. The built-in engine, and a server that returns token ids
 * (`rlhf serve-model`, vLLM), give the sampled ids (through the token that completed a stop text). A server
 * that gives text only: it is encoded again, ending with `endId` (end-of-text, or a conversation's end of
 * turn) where it ended by itself. NOTE: such a server cuts a stop text off, so a completion that ended at one
 * is trained as ending with endId.
 */
function completionOf(c: Completion, tok: Tokenizer, stop: string[], maxCompletionLength: number, endId: number) {
  let text = c.text,
    finished = c.finishReason === 'stop';
  if (c.tokenIds) return { text, finished, ids: c.tokenIds.length ? c.tokenIds : [tok.eosId] };
  const at = firstStop(text, stop);
  if (at !== null) {
    text = text.slice(0, at);
    finished = true;
  }
  const ids = [...tok.encode(text), ...(finished ? [endId] : [])].slice(0, maxCompletionLength);
  return { text, finished, ids: ids.length ? ids : [endId] };
}

/**
 * The completions of step `step`: numGenerations of each row's prompt, sampled by `gen` with a seed of the
 * run's seed and the step, scored by `rewards` (each item with its row's columns).
 */
export async function sampleGroups(
  gen: Generator,
  policy: CausalLM,
  tok: Tokenizer,
  rows: PromptRow[],
  rewards: RewardSet,
  o: GroupSampling,
  step: number,
  clock: GroupClock,
  template: ChatTemplate | null = null,
): Promise<GroupRollouts> {
  // A conversation's turn ends with the template's end-of-turn text.
  const chat = template && rows.some((r) => typeof r.prompt !== 'string');
  const stop = turnStops(o.stop, chat ? template : null);
  const { maxCompletionLength: maxNewTokens, temperature } = o;
  const endId = endIdOf(tok, template);
  const s = await sampleScored(
    gen,
    policy,
    tok,
    rows,
    rewards,
    { n: o.numGenerations, seed: o.seed, generation: { maxNewTokens, temperature, stop } },
    step,
    template,
    (c, row) => completionOf(c, tok, stop, maxNewTokens, endId(row)),
    clock,
  );
  const { prompts, pairs, texts } = s;
  const finishReasons = s.finished.map((f): GroupFinish => (f ? 'stop' : 'length'));
  const N = pairs.length,
    Tc = Math.max(...pairs.map((p) => p.completion.length));
  const mask = new Float32Array(N * Tc);
  // NOTE: a completion left out (cut at the length limit, with maskTruncatedCompletions) keeps its reward in its
  // group's baseline; only its tokens leave the loss, as in TRL.
  pairs.forEach((p, b) => {
    if (!(o.maskTruncatedCompletions && finishReasons[b] === 'length'))
      mask.fill(1, b * Tc, b * Tc + p.completion.length);
  });
  return { prompts, pairs, texts, finishReasons, rewards: s.scores, perFunction: s.perFunction, Tc, mask };
}

/**
 * Per-token log-probs of the completions on the (N, Tc) grid under a replica's model (the policy before its
 * updates, or the reference), at the sampling temperature, in micro-batches of at most `microBatch` split
 * across threads. Padded positions hold 0.
 */
export function groupLogProbs(
  replica: Replica,
  roll: Pick<GroupRollouts, 'pairs' | 'Tc'>,
  tok: Pick<Tokenizer, 'eosId' | 'vocabSize'>,
  temperature: number,
  microBatch: number,
  clock: GroupClock,
): Float32Array {
  const t0 = performance.now();
  const { pairs, Tc } = roll;
  const out = new Float32Array(pairs.length * Tc);
  const shard = { padId: tok.eosId, Tc, temperature, vocabSize: tok.vocabSize };
  for (let m = 0; m < pairs.length; m += microBatch) {
    const chunk = pairs.slice(m, m + microBatch);
    const parts = splitEvenly(chunk, Math.min(shardCount(), chunk.length));
    const res = runSharded(
      replica,
      kernels.rolloutShard,
      parts.map((p) => ({ ...shard, pairs: p })),
    );
    let row = m;
    res.forEach((r, k) => {
      const lp = r.logp;
      parts[k].forEach((p, i) => {
        for (let j = 0; j < p.completion.length; j++) out[(row + i) * Tc + j] = lp[i * Tc + j];
      });
      row += parts[k].length;
    });
  }
  clock.logprobs += (performance.now() - t0) / 1000;
  return out;
}
