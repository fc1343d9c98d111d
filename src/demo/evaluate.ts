// Evaluation of a policy on held-out prompts, judged by the task's gold judge (the stand-in for
// people): gold score, win rates against the SFT policy and the references, KL to the SFT policy,
// and length. All samples are drawn at temperature 1, the distribution the KL is measured on.

import { encodePrompt, fitPromptText, promptRoom } from '../model/prompt.js';
import type { CausalLM } from '../model/causal-lm.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { GoldJudge } from '../tasks/index.js';
import { Generator, cutAtStop } from '../train/generator.js';

// Cutting at stop strings lives with the generators, where the trainers and best-of-N use it too.
export { cutAtStop };

// The parting rule (where gold and the proxy part ways along a run) lives with the monitor's math.
export { type PartingPoint, type ScorePoint, partingPoint } from '../objectives/parting.js';

export interface Sampled {
  /** The text judged: decoded, cut at the task's first stop string. */
  text: string;
  /** The sampled token ids, with the end-of-text token when the row stopped (what the KL is over). */
  tokens: number[];
}

export interface SampleSettings {
  maxNewTokens: number;
  /** The model's context: longer prompts lose their start so the completion fits (as promptIds). */
  nPositions: number;
  /** Strings that end a completion's text (e.g. "\n"). */
  stop: string[];
  seed: number;
}

/** The prompt's token ids, cut from the left so the completion fits the context. */
export function promptIds(tok: Tokenizer, prompt: string, nPositions: number, maxNewTokens: number): number[] {
  return encodePrompt(tok, prompt, promptRoom(nPositions, maxNewTokens));
}

/** The prompt's text cut from the left as promptIds cuts its tokens, for generators that take text. */
export function fitPrompt(tok: Tokenizer, prompt: string, nPositions: number, maxNewTokens: number): string {
  return fitPromptText(tok, prompt, promptRoom(nPositions, maxNewTokens));
}

/**
 * `n` samples of each prompt at temperature 1, as [prompt][sample], from any generator: the built-in
 * engine or a server (deterministic in the seed either way with our own server). A remote generator
 * returns text only: its tokens are the text encoded again, plus end-of-text when it stopped, which
 * is what the KL is then measured over.
 */
export async function sampleCompletions(
  gen: Generator,
  tok: Tokenizer,
  prompts: string[],
  n: number,
  s: SampleSettings,
): Promise<Sampled[][]> {
  const requests = prompts.map((p) => ({ prompt: fitPrompt(tok, p, s.nPositions, s.maxNewTokens), n }));
  const res = await gen.generate(requests, {
    maxNewTokens: s.maxNewTokens,
    temperature: 1,
    stop: s.stop,
    seed: s.seed,
  });
  return res.map((r) =>
    r.completions.map((c) => ({
      text: cutAtStop(c.text, s.stop),
      tokens: c.tokenIds ?? [...tok.encode(c.text), ...(c.finishReason === 'stop' ? [tok.eosId] : [])],
    })),
  );
}

/**
 * Mean over samples of Σ_t log π(y_t|x) − log π_ref(y_t|x'): the KL of the policy's output distribution
 * from the reference's, estimated on the policy's own samples. `policyPrompts` may differ from the
 * reference's (Chain of Hindsight conditions on a feedback phrase the reference never sees).
 */
export function klToReference(
  policy: CausalLM,
  ref: CausalLM,
  tok: Tokenizer,
  policyPrompts: string[],
  refPrompts: string[],
  samples: Sampled[],
  maxNewTokens: number,
): number {
  if (samples.length === 0) return 0;
  const ctx = policy.config.nPositions;
  const lp = completionLogProbs(
    policy,
    samples.map((s, i) => ({ prompt: promptIds(tok, policyPrompts[i], ctx, maxNewTokens), completion: s.tokens })),
    tok.eosId,
    { vocabSize: tok.vocabSize },
  );
  const lr = completionLogProbs(
    ref,
    samples.map((s, i) => ({ prompt: promptIds(tok, refPrompts[i], ctx, maxNewTokens), completion: s.tokens })),
    tok.eosId,
    { vocabSize: tok.vocabSize },
  );
  let total = 0;
  for (let i = 0; i < samples.length; i++) for (let t = 0; t < lp[i].length; t++) total += lp[i][t] - lr[i][t];
  return total / samples.length;
}

/** P(a beats b) under the gold scores, ties counting half. */
export function winRate(a: number[], b: number[]): number {
  if (a.length !== b.length) throw new Error(`win rate needs paired scores, got ${a.length} and ${b.length}`);
  if (a.length === 0) return NaN;
  let w = 0;
  for (let i = 0; i < a.length; i++) w += a[i] > b[i] ? 1 : a[i] === b[i] ? 0.5 : 0;
  return w / a.length;
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** A 95% interval half-width of a mean (normal approximation), so reported differences can be read against noise. */
export function halfWidth95(xs: number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  const v = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
  return 1.96 * Math.sqrt(v / xs.length);
}

export interface MethodEval {
  gold_score: number;
  gold_score_ci95: number;
  gold_win_rate_vs_sft: number;
  gold_win_rate_vs_reference: number;
  kl_to_sft: number;
  /** How the KL was obtained: estimated on samples, or the analytic best-of-N bound. */
  kl_kind: 'sampled' | 'analytic';
  /** Mean completion length in tokens. */
  mean_length: number;
  /** Mean reward-model (proxy) score. */
  proxy_score: number;
}

export interface Judged {
  texts: string[];
  gold: number[];
  lengths: number[];
}

export function judge(gold: GoldJudge, prompts: string[], samples: Sampled[]): Judged {
  return {
    texts: samples.map((s) => s.text),
    gold: samples.map((s, i) => gold.score(prompts[i], s.text)),
    lengths: samples.map((s) => s.tokens.length),
  };
}
