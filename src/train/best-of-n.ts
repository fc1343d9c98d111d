// Best-of-N: sample N completions per prompt, keep the one the reward function scores highest.
// A strong, simple baseline (Stiennon et al.); its KL from the sampling policy is log N − (N−1)/N.

import { GPT } from '../model/gpt.js';
import { SampleOptions, generate } from '../model/sample.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { RewardFn, scoreWith } from '../judge/reward-fn.js';

/** The analytic KL (nats) between best-of-N sampling and the policy it samples from. */
export function bestOfNKL(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`best-of-N needs an integer N ≥ 1, got ${n}`);
  return Math.log(n) - (n - 1) / n;
}

export interface BestOfNResult {
  prompt: string;
  completion: string;
  reward: number;
  /** Rewards of all N samples, in sampling order. */
  rewards: number[];
  finish_reason: string;
}

export async function bestOfN(
  model: GPT, tok: Tokenizer, prompts: string[], n: number, reward: RewardFn, opts: Omit<SampleOptions, 'rng'>, batchSize = 32,
): Promise<BestOfNResult[]> {
  bestOfNKL(n);
  const jobs = prompts.flatMap((p) => Array.from({ length: n }, () => p));
  const texts: { completion: string; finish: string }[] = [];
  for (let i = 0; i < jobs.length; i += batchSize) {
    const batch = jobs.slice(i, i + batchSize);
    const gens = generate(model, batch.map((p) => (p.length ? tok.encode(p) : [tok.eosId])), { ...opts, seed: (opts.seed ?? 0) + i });
    for (const g of gens) {
      const toks = g.finishReason === 'stop' ? g.tokens.slice(0, -1) : g.tokens;
      texts.push({ completion: tok.decode(toks), finish: g.finishReason });
    }
  }
  const scores = await scoreWith(reward, jobs.map((prompt, i) => ({ prompt, completion: texts[i].completion })));
  return prompts.map((prompt, k) => {
    const rewards = scores.slice(k * n, (k + 1) * n);
    let best = 0;
    for (let j = 1; j < n; j++) if (rewards[j] > rewards[best]) best = j;
    return { prompt, completion: texts[k * n + best].completion, reward: rewards[best], rewards, finish_reason: texts[k * n + best].finish };
  });
}
