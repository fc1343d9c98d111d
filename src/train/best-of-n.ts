// Best-of-N: sample N completions per prompt, keep the one the reward function scores highest.
// A strong, simple baseline (Stiennon et al.); its KL from the sampling policy is log N − (N−1)/N.
// Each sample is scored cut at the stop strings, the text evaluation judges.
// Sampling goes through a Generator: the built-in engine or a remote inference server.

import { type CausalLM, isCausalLM } from '../model/causal-lm.js';
import type { ChatMessage } from '../model/chat-template.js';
import { SampleOptions } from '../model/sample.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { type RewardLike, asRewardSet } from './reward-fn.js';
import { GenerationOptions, GenerationProgress, Generator, LocalGenerator, cutAtStop } from './generator.js';

/** The analytic KL (nats) between best-of-N sampling and the policy it samples from. */
export function bestOfNKL(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`best-of-N needs an integer N ≥ 1, got ${n}`);
  return Math.log(n) - (n - 1) / n;
}

/**
 * A prompt rendered with a chat template: its text, the ids sampled from (the rendering's, with its special
 * tokens) and its messages, which a chat reward model renders itself (src/model/chat-reward.ts).
 */
export interface ChatPrompt {
  prompt: string;
  promptIds?: number[];
  messages?: ChatMessage[];
}

export interface BestOfNResult {
  prompt: string;
  completion: string;
  reward: number;
  /** Rewards of all N samples, in sampling order. */
  rewards: number[];
  /** Each reward's own score of the kept completion, by name (`reward` is their weighted sum). */
  byReward: Record<string, number>;
  finish_reason: string;
}

/**
 * Samples n completions of each prompt with the generator and keeps the one the reward (a function,
 * or a set of weighted rewards) scores highest. A prompt is text, or a ChatPrompt (with the generator's
 * chat rendering and the messages). The older form bestOfN(model, tok, prompts, n, reward,
 * sampleOptions, batchSize) samples with the built-in engine.
 */
export async function bestOfN(
  generator: Generator,
  prompts: (string | ChatPrompt)[],
  n: number,
  reward: RewardLike,
  opts: GenerationOptions,
  onProgress?: (p: GenerationProgress) => void,
): Promise<BestOfNResult[]>;
export async function bestOfN(
  model: CausalLM,
  tok: Tokenizer,
  prompts: string[],
  n: number,
  reward: RewardLike,
  opts: Omit<SampleOptions, 'rng'>,
  batchSize?: number,
): Promise<BestOfNResult[]>;
export async function bestOfN(...args: unknown[]): Promise<BestOfNResult[]> {
  if (isCausalLM(args[0])) {
    const [model, tok, prompts, n, reward, o, batchSize] = args as [
      CausalLM,
      Tokenizer,
      string[],
      number,
      RewardLike,
      Omit<SampleOptions, 'rng'>,
      number | undefined,
    ];
    // Stop token ids become stop texts (the end-of-text token always stops).
    const stop = (o.stopTokens ?? []).filter((id) => id !== tok.eosId).map((id) => tok.decode([id]));
    const opts: GenerationOptions = {
      maxNewTokens: o.maxNewTokens,
      temperature: o.temperature ?? 1,
      topK: o.topK,
      topP: o.topP,
      seed: o.seed,
      stop,
    };
    return bestOfNWith(new LocalGenerator(model, tok, { batchSize: batchSize ?? 32 }), prompts, n, reward, opts);
  }
  const [generator, prompts, n, reward, opts, onProgress] = args as [
    Generator,
    (string | ChatPrompt)[],
    number,
    RewardLike,
    GenerationOptions,
    ((p: GenerationProgress) => void) | undefined,
  ];
  return bestOfNWith(generator, prompts, n, reward, opts, onProgress);
}

async function bestOfNWith(
  generator: Generator,
  given: (string | ChatPrompt)[],
  n: number,
  reward: RewardLike,
  opts: GenerationOptions,
  onProgress?: (p: GenerationProgress) => void,
): Promise<BestOfNResult[]> {
  bestOfNKL(n);
  const prompts = given.map((p): ChatPrompt => (typeof p === 'string' ? { prompt: p } : p));
  const gens = await generator.generate(
    prompts.map((p) => ({ prompt: p.prompt, n, ...(p.promptIds && { promptIds: p.promptIds }) })),
    opts,
    onProgress,
  );
  // Scored, and kept, as evaluation judges them: cut at the stop strings (a server may not have cut them).
  const texts = gens.flatMap((g) => g.completions).map((c) => ({ ...c, text: cutAtStop(c.text, opts.stop ?? []) }));
  const { total: scores, perFunction } = await asRewardSet(reward).score(
    texts.map((c, i) => {
      const p = prompts[Math.floor(i / n)];
      return { prompt: p.prompt, completion: c.text, ...(p.messages && { messages: p.messages }) };
    }),
  );
  return prompts.map(({ prompt }, k) => {
    const rewards = scores.slice(k * n, (k + 1) * n);
    let best = 0;
    for (let j = 1; j < n; j++) if (rewards[j] > rewards[best]) best = j;
    const c = texts[k * n + best];
    const byReward = Object.fromEntries(Object.entries(perFunction).map(([name, xs]) => [name, xs[k * n + best]]));
    return { prompt, completion: c.text, reward: rewards[best], rewards, byReward, finish_reason: c.finishReason };
  });
}
