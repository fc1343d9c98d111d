// Reward normalization as Stiennon et al. and lm-human-preferences do it before RL: sample the
// starting (SFT) policy on the training prompts, and set the reward model's bias (and, optionally,
// gain) so that its scores of those samples have mean 0 (and standard deviation 1). The two numbers
// are saved in the reward checkpoint (config.json: rlhf.rewardBias, rlhf.rewardGain), so every
// command that scores with it (PPO, ReST, best-of-N, serve-reward, the demo) uses them.

import type { Checkpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { RewardModel } from '../model/reward-model.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { scoreRewards } from '../runtime/reward.js';
import { encodePrompt, sampleTexts } from './generator.js';
import { type Options, type ValuesOf, defineOptions } from './options.js';

export const rewardNormalizeOptions = defineOptions(
  {
    samples: {
      type: 'int',
      flag: '--samples',
      help: 'completions sampled from the policy, one per prompt, cycling through the prompts',
      default: 256,
      min: 2,
    },
    std: {
      type: 'boolean',
      flag: '--std',
      help:
        'also scale the scores to standard deviation 1 (lm-human-preferences); otherwise only their mean is ' +
        'moved to 0',
      default: false,
    },
    maxNewTokens: {
      type: 'int',
      flag: '--max-new-tokens',
      help: 'longest completion (as in the PPO run)',
      default: 32,
      min: 1,
    },
    temperature: {
      type: 'number',
      flag: '--temperature',
      help: 'sampling temperature (as in the PPO run)',
      default: 1,
      above: 0,
    },
    stop: {
      type: 'strings',
      flag: '--stop',
      help: 'text that ends a completion (repeatable), as in the PPO run: the text before it is scored',
      default: [],
    },
    seed: { type: 'int', flag: '--seed', help: 'sampling seed', default: 0, min: 0 },
  },
  [(c) => (c.stop.some((s) => s.length === 0) ? 'stop (--stop) must be non-empty texts' : null)],
);

export type RewardNormalizeOptions = typeof rewardNormalizeOptions extends Options<infer S> ? ValuesOf<S> : never;

export interface RewardNormalization {
  /** The new bias and gain: score = gain·(raw − bias). */
  bias: number;
  gain: number;
  /** Mean and (population) standard deviation of the scores of the samples before normalizing. */
  mean: number;
  std: number;
  samples: number;
}

/**
 * The bias and gain that give `scores` (made with the current bias and gain) mean 0, and standard
 * deviation 1 when `std`; without `std` the gain stays.
 */
export function fitNormalization(
  scores: number[],
  current: { bias: number; gain: number },
  std: boolean,
): RewardNormalization {
  const n = scores.length;
  if (n < 2) throw new Error(`reward normalization needs at least 2 scores, got ${n}`);
  if (!(current.gain > 0)) throw new Error(`the reward model's gain must be > 0, got ${current.gain}`);
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / n);
  // score = g₀·(raw − b₀), so raw = score/g₀ + b₀: its mean and spread set the new bias and gain.
  const bias = current.bias + mean / current.gain;
  if (std && !(sd > 0))
    throw new Error(
      `all ${n} samples got the same score (${mean}), so there is no spread to scale to 1; sample more ` +
        `(--samples) or leave out --std`,
    );
  const gain = std ? current.gain / sd : current.gain;
  return { bias, gain, mean, std: sd, samples: n };
}

/**
 * Samples `policy` on `prompts` (one completion each, cycling to o.samples), scores the samples with
 * `rm`, and sets its bias and gain (in place). Returns what was measured and set.
 */
export function normalizeReward(
  rm: RewardModel,
  policy: CausalLM,
  tok: Tokenizer,
  prompts: string[],
  o: RewardNormalizeOptions,
): RewardNormalization {
  rewardNormalizeOptions.validate(o);
  if (prompts.length === 0) throw new Error('reward normalization needs prompts to sample the policy on');
  const texts = Array.from({ length: o.samples }, (_, i) => prompts[i % prompts.length]);
  const room = policy.config.nPositions - o.maxNewTokens;
  if (room < 1)
    throw new Error(
      `maxNewTokens (--max-new-tokens) ${o.maxNewTokens} leaves no room for a prompt in the policy's context of ` +
        `${policy.config.nPositions}`,
    );
  const rows = texts.map((p) => {
    const ids = encodePrompt(tok, p);
    return ids.slice(Math.max(0, ids.length - room));
  });
  const samples = sampleTexts(policy, tok, rows, {
    maxNewTokens: o.maxNewTokens,
    temperature: o.temperature,
    stop: o.stop,
    seed: o.seed,
  });
  const scores = scoreRewards(
    rm,
    texts.map((prompt, i) => ({ prompt, completion: samples[i].text })),
  );
  const fit = fitNormalization(scores, rm, o.std);
  rm.bias = fit.bias;
  rm.gain = fit.gain;
  return fit;
}

/** Saves `rm` with its new bias and gain into dir, keeping the checkpoint's other metadata. */
export function saveNormalizedReward(
  rm: RewardModel,
  dir: string,
  from: Checkpoint,
  fit: RewardNormalization,
  provenance: Record<string, unknown>,
): void {
  // RewardModel.save writes its own fields; the rest (how it was trained, …) is carried over.
  const own = new Set(['kind', 'rewardBias', 'rewardGain', 'contextLength', 'heads', 'rewardInput']);
  const kept = Object.fromEntries(Object.entries(from.meta).filter(([k]) => !own.has(k)));
  rm.save(dir, { ...kept, rewardNormalization: { ...fit, ...provenance } });
}
