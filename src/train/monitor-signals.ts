// The monitor's independent signals (monitor.ts measures them on each evaluation's samples): a second
// reward model trained on comparisons the proxy never saw, held-out human comparisons ranked by the
// policy's own log-likelihood ratio to its reference, and the disagreement of a reward-model ensemble.
// A judge served over HTTP (src/remote/judge.ts) plugs in through the same interface.

import { type Comparison, toPairs } from '../data/comparison.js';
import type { ChatMessage } from '../model/chat-template.js';
import type { TokenPair } from '../model/logprobs.js';
import type { RewardModel } from '../model/reward-model.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { logRatioAccuracy, memberSpread } from '../objectives/monitor-signals.js';
import { scoreRewards } from '../runtime/reward.js';
import { encodePair } from './dpo.js';
import type { RewardSet, ScoredText } from './reward-fn.js';

/** One evaluation's samples: one completion of each held-out prompt. */
export interface MonitorSamples {
  /** Each prompt as the rewards see it (a conversation rendered with the chat template). */
  prompts: string[];
  /** The prompt's messages, where it was a conversation. */
  messages: (ChatMessage[] | undefined)[];
  /** The prompt row's other fields, for rewards written as code. */
  columns: Record<string, unknown>[];
  /** The completions as scored: cut at the stop texts. */
  texts: string[];
  /** The reference policy's sample of the same prompts, drawn once (for signals that needReference). */
  referenceTexts?: string[];
}

/** What a signal may use besides the samples. */
export interface SignalContext {
  tok: Tokenizer;
  /** The policy's context length (prompts are cut from their start to fit). */
  nPositions: number;
  /** Per-token log-probs of completions under the policy as it is now; absent for best-of-N (no policy changes). */
  policyLogProbs?(pairs: TokenPair[]): number[][];
  /** Per-token log-probs under the reference (the starting policy). */
  referenceLogProbs?(pairs: TokenPair[]): number[][];
}

export interface SignalValue {
  value: number;
  /** Further metrics, named under monitor/ (e.g. judge_invalid). */
  extra?: Record<string, number>;
}

export interface MonitorSignal {
  /** The metric's name under monitor/: holdout_reward, pref_accuracy, judge_win_rate, ensemble_std. */
  readonly name: string;
  /** 1 where higher is better (a reward, an accuracy, a win rate), −1 where lower is (a disagreement). */
  readonly direction: 1 | -1;
  /** Compares with the reference policy's sample of each prompt (a pairwise judge). */
  readonly needsReference?: boolean;
  /** Reads the policy's log-probs, so it has nothing to say of best-of-N. */
  readonly needsPolicy?: boolean;
  measure(s: MonitorSamples, ctx: SignalContext): Promise<SignalValue>;
}

/** The samples as a reward scores them. */
export function scoredTexts(s: MonitorSamples, texts = s.texts): ScoredText[] {
  return texts.map((completion, i) => ({
    prompt: s.prompts[i],
    completion,
    columns: s.columns[i],
    ...(s.messages[i] && { messages: s.messages[i] }),
  }));
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * A second reward trained on comparisons the proxy never saw (`rlhf train reward --split-holdout`): its
 * mean score of the samples. Where the policy exploits the proxy's own errors, this one does not follow.
 */
export function holdoutRewardSignal(reward: RewardSet): MonitorSignal {
  return {
    name: 'holdout_reward',
    direction: 1,
    async measure(s) {
      return { value: mean((await reward.score(scoredTexts(s))).total) };
    },
  };
}

/**
 * Held-out human comparisons: how often the policy's log-likelihood ratio to the reference ranks the
 * labeled winner first (objectives/monitor-signals.ts). The reference's log-probs are taken once.
 */
export function preferenceSignal(comparisons: Comparison[]): MonitorSignal {
  let encoded: { chosen: TokenPair[]; rejected: TokenPair[]; refChosen: number[]; refRejected: number[] } | null = null;
  const sums = (rows: number[][]) => rows.map((r) => r.reduce((a, b) => a + b, 0));
  return {
    name: 'pref_accuracy',
    direction: 1,
    needsPolicy: true,
    async measure(_s, ctx) {
      if (!ctx.policyLogProbs || !ctx.referenceLogProbs)
        throw new Error('pref_accuracy (--monitor-pairs) measures a trained policy against its reference');
      if (!encoded) {
        const pairs = comparisons.flatMap(toPairs);
        const chosen = pairs.map((p) => encodePair(ctx.tok, p.prompt, p.chosen, ctx.nPositions - 1));
        const rejected = pairs.map((p) => encodePair(ctx.tok, p.prompt, p.rejected, ctx.nPositions - 1));
        encoded = {
          chosen,
          rejected,
          refChosen: sums(ctx.referenceLogProbs(chosen)),
          refRejected: sums(ctx.referenceLogProbs(rejected)),
        };
      }
      const e = encoded;
      return {
        value: logRatioAccuracy(
          sums(ctx.policyLogProbs(e.chosen)),
          e.refChosen,
          sums(ctx.policyLogProbs(e.rejected)),
          e.refRejected,
        ),
      };
    },
  };
}

/**
 * The disagreement of a reward-model ensemble (`rlhf train reward --ensemble K`): the mean over samples of
 * the members' standard deviation; also their mean reward (ensemble_mean).
 */
export function ensembleSignal(members: RewardModel[]): MonitorSignal {
  if (members.length < 2) throw new Error(`an ensemble needs at least 2 members, got ${members.length}`);
  return {
    name: 'ensemble_std',
    direction: -1,
    async measure(s) {
      const items = scoredTexts(s);
      const scores = members.map((m) => scoreRewards(m, items));
      const perItem = scores[0].map((_, i) => mean(scores.map((x) => x[i])));
      return { value: mean(memberSpread(scores)), extra: { ensemble_mean: mean(perItem) } };
    },
  };
}
