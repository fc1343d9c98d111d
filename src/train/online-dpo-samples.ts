// Online DPO's samples: two completions of each prompt from a Generator (the built-in engine on the policy,
// or a server with --generator), scored by the reward set, and kept as the ids the loss is taken on.

import type { CausalLM } from '../model/causal-lm.js';
import type { ChatTemplate } from '../model/chat-template.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { type Completion, type Generator, cutAtStop } from './generator.js';
import { type PromptRow, type ScoredSamples, endIdOf, sampleScored, turnStops } from './prompt-samples.js';
import { type RewardSet, rewardsAt } from './reward-fn.js';

export type { PromptRow } from './prompt-samples.js';

/** Two samples of each of B prompts, side by side: sample j of prompt p is entry 2p + j (2B entries each). */
export type PairSamples = ScoredSamples;

export interface PairSampling {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  stop: string[];
  seed: number;
}

/**
 * The completion as scored and as trained. The built-in engine, and a server that returns token ids, give the
 * sampled ids (through the token that ended it). A server that gives text only: it is encoded again, ending
 * with `endId` (end-of-text, or a conversation's end of turn) where it ended by itself.
 */
function completionOf(c: Completion, tok: Tokenizer, stop: string[], maxNewTokens: number, endId: number) {
  const text = cutAtStop(c.text, stop);
  const finished = c.finishReason === 'stop' || text !== c.text.trimEnd();
  if (c.tokenIds) return { text, finished, ids: c.tokenIds.length ? c.tokenIds : [tok.eosId] };
  const ids = [...tok.encode(text), ...(finished ? [endId] : [])].slice(0, maxNewTokens);
  return { text, finished, ids: ids.length ? ids : [endId] };
}

/** The two samples of each row's prompt at step `step` (seed: the run's and the step's), scored. */
export function samplePairs(
  gen: Generator,
  policy: CausalLM,
  tok: Tokenizer,
  rows: PromptRow[],
  rewards: RewardSet,
  o: PairSampling,
  step: number,
  template?: ChatTemplate | null,
): Promise<PairSamples> {
  // A conversation's answer ends with the template's end of turn.
  const stop = turnStops(o.stop, template);
  const { maxNewTokens, temperature, topK, topP } = o;
  const generation = { maxNewTokens, temperature, topK, topP, stop };
  const endId = endIdOf(tok, template ?? null);
  return sampleScored(
    gen,
    policy,
    tok,
    rows,
    rewards,
    { n: 2, seed: o.seed, generation },
    step,
    template ?? null,
    (c, row) => completionOf(c, tok, stop, maxNewTokens, endId(row)),
  );
}

/**
 * samples.jsonl's lines of one step: each sample with the score that chose the pair (`reward`, after the
 * missing-EOS penalty), each reward's own score, whether it was the chosen side, and how it ended.
 */
export function pairSamplesJSONL(s: PairSamples, scores: number[], chosenIdx: number[], step: number): string {
  const chosen = new Set(chosenIdx);
  return s.prompts
    .map((prompt, i) =>
      JSON.stringify({
        step,
        prompt,
        completion: s.texts[i],
        reward: scores[i],
        rewards: rewardsAt(s.perFunction, i),
        chosen: chosen.has(i),
        finish_reason: s.finished[i] ? 'stop' : 'length',
      }),
    )
    .join('\n')
    .concat('\n');
}
