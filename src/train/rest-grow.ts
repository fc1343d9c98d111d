// ReST's Grow phase: samples of the policy scored by the rewards (cut at the stop strings, as the evaluation
// judges them), the original demonstrations scored beside them, and the thresholds' percentile. rest.ts
// runs the Grow and Improve steps.

import type { PromptCompletion } from '../data/text.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { type Generator, cutAtStop } from './generator.js';
import type { ReSTConfig } from './rest-config.js';
import { type RewardSet, rewardMetrics, rewardsAt } from './reward-fn.js';

/** The p-th percentile (0–100) of values, by linear interpolation. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const x = (p / 100) * (s.length - 1),
    lo = Math.floor(x),
    hi = Math.ceil(x);
  return s[lo] + (s[hi] - s[lo]) * (x - lo);
}

export interface Sample {
  prompt: string;
  completion: number[];
  text: string;
  reward: number;
  /** One of the original demonstrations, not a sample of the policy. */
  demonstration?: boolean;
}

/** A Grow's sample as samples.jsonl keeps it: besides the total reward, each reward's score and how it ended. */
export interface GrownSample extends Sample {
  rewards: Record<string, number>;
  finished: boolean;
}

/** A Grow's samples, and each reward's mean and std over them (rewards/NAME/mean, /std). */
export interface Grown {
  samples: GrownSample[];
  metrics: Record<string, number>;
}

/**
 * M samples of each prompt, scored as evaluation judges them: cut at the stop strings. The
 * fine-tuning target is what was sampled up to there: the local engine's ids (ending with the token
 * that completed a stop text, or end-of-text), or a remote generator's text encoded again, with
 * end-of-text where the sample ended by itself.
 */
export async function grow(
  gen: Generator,
  tok: Tokenizer,
  prompts: string[],
  reward: RewardSet,
  cfg: ReSTConfig,
  seed: number,
  M: number,
): Promise<Grown> {
  const results = await gen.generate(
    prompts.map((prompt) => ({ prompt, n: M })),
    { maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, stop: cfg.stop, seed },
  );
  const out: Omit<GrownSample, 'reward' | 'rewards'>[] = results.flatMap((r) =>
    r.completions.map((c) => {
      const text = cutAtStop(c.text, cfg.stop);
      const ended = c.finishReason === 'stop' || text !== c.text.trimEnd();
      return {
        prompt: r.prompt,
        text,
        completion: c.tokenIds ?? [...tok.encode(text), ...(ended ? [tok.eosId] : [])],
        finished: ended,
      };
    }),
  );
  const scores = await reward.score(out.map((s) => ({ prompt: s.prompt, completion: s.text })));
  return {
    samples: out.map((s, i) => ({ ...s, reward: scores.total[i], rewards: rewardsAt(scores.perFunction, i) })),
    metrics: rewardMetrics(scores),
  };
}

/** samples.jsonl's lines of Grow `grow` (1-based). */
export function grownJSONL(samples: GrownSample[], grow: number): string {
  return samples
    .map((s) =>
      JSON.stringify({
        grow,
        prompt: s.prompt,
        completion: s.text,
        reward: s.reward,
        rewards: s.rewards,
        finish_reason: s.finished ? 'stop' : 'length',
      }),
    )
    .join('\n')
    .concat('\n');
}

/** The original data, tokenized as SFT does (completion + end-of-text) and scored as written. */
export async function scoreDemonstrations(
  demos: PromptCompletion[],
  tok: Tokenizer,
  reward: RewardSet,
): Promise<Sample[]> {
  if (demos.length === 0) return [];
  const scores = (await reward.score(demos)).total;
  return demos.map((d, i) => ({
    prompt: d.prompt,
    text: d.completion,
    completion: [...tok.encode(d.completion), tok.eosId],
    reward: scores[i],
    demonstration: true,
  }));
}
