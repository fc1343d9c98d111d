// ReST (Gulcehre et al., 2023): Grow — sample M completions per prompt from the current policy and
// score them; Improve — keep the samples at or above a rising reward threshold (a percentile of
// this Grow's scores) and fine-tune on them (behaviour cloning); repeat Improve with higher
// thresholds, then Grow again from the improved policy. Grow may run on a remote generator.

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairSource } from '../data/lm-batches.js';
import { GPT } from '../model/gpt.js';
import { encodePrompt } from '../model/prompt.js';
import { shardCount, runSharded } from '../model/replica.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { RewardFn, scoreWith } from '../judge/reward-fn.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { kernels, shardLM } from './kernels.js';
import { OptimConfig, runTraining } from './loop.js';
import { Generator, LocalGenerator } from './generator.js';

export interface ReSTConfig extends OptimConfig {
  outDir: string;
  /** Grow rounds. */
  grows: number;
  /** Percentile thresholds of the Improve steps of each Grow, rising (e.g. [50, 70, 90]). */
  percentiles: number[];
  /** Completions sampled per prompt at each Grow. */
  samplesPerPrompt: number;
  /** Passes over the kept samples at each Improve step (sets its optimizer steps). */
  epochsPerImprove: number;
  batchSize: number;
  maxNewTokens: number;
  temperature: number;
  /** Longest fine-tuning sequence (prompt + completion). */
  contextLength: number;
  /** Weight each kept sample's loss by its reward above the threshold (reward-weighted behaviour cloning). */
  rewardWeighted: boolean;
  quiet: boolean;
}

export const defaultReSTConfig: Omit<ReSTConfig, 'outDir'> = {
  grows: 2,
  percentiles: [50, 70, 90],
  samplesPerPrompt: 8,
  epochsPerImprove: 1,
  batchSize: 16,
  maxNewTokens: 32,
  temperature: 1,
  contextLength: 128,
  rewardWeighted: false,
  steps: 1, // per Improve step it is derived from epochsPerImprove
  lr: 1e-4,
  warmupSteps: 0,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1,
  evalEvery: 0,
  saveEvery: 0,
  seed: 0,
  quiet: false,
};

export function validateReSTConfig(c: ReSTConfig): void {
  if (!Number.isInteger(c.grows) || c.grows < 1) throw new Error(`grows must be a positive integer, got ${c.grows}`);
  if (c.percentiles.length === 0) throw new Error('percentiles: give at least one Improve threshold, e.g. 50,70,90');
  c.percentiles.forEach((p, i) => {
    if (!(p >= 0 && p < 100)) throw new Error(`percentiles[${i}] must be in [0, 100), got ${p}`);
    if (i > 0 && p < c.percentiles[i - 1])
      throw new Error(`percentiles must rise (ReST's thresholds τ₁ < τ₂ < …), got ${c.percentiles.join(', ')}`);
  });
  if (!Number.isInteger(c.samplesPerPrompt) || c.samplesPerPrompt < 1)
    throw new Error(`samplesPerPrompt must be a positive integer, got ${c.samplesPerPrompt}`);
  if (!(c.epochsPerImprove > 0)) throw new Error(`epochsPerImprove must be > 0, got ${c.epochsPerImprove}`);
}

/** The p-th percentile (0–100) of values, by linear interpolation. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const x = (p / 100) * (s.length - 1),
    lo = Math.floor(x),
    hi = Math.ceil(x);
  return s[lo] + (s[hi] - s[lo]) * (x - lo);
}

interface Sample {
  prompt: string;
  completion: number[];
  text: string;
  reward: number;
}

async function grow(
  gen: Generator,
  tok: Tokenizer,
  prompts: string[],
  reward: RewardFn,
  cfg: ReSTConfig,
  seed: number,
  M: number,
): Promise<Sample[]> {
  const results = await gen.generate(
    prompts.map((prompt) => ({ prompt, n: M })),
    { maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, seed },
  );
  const out: Omit<Sample, 'reward'>[] = results.flatMap((r) =>
    r.completions.map((c) => ({
      prompt: r.prompt,
      text: c.text,
      // The fine-tuning target ends with <|endoftext|> only where the sample stopped by itself; a
      // remote generator sends text only, which is tokenized here.
      completion: c.tokenIds ?? [...tok.encode(c.text), ...(c.finishReason === 'stop' ? [tok.eosId] : [])],
    })),
  );
  const scores = await scoreWith(
    reward,
    out.map((s) => ({ prompt: s.prompt, completion: s.text })),
  );
  return out.map((s, i) => ({ ...s, reward: scores[i] }));
}

export interface ReSTResult {
  /** Mean reward of one sample per prompt from the starting policy, and after each Grow's Improve steps. */
  meanReward: number[];
  improves: {
    grow: number;
    improve: number;
    percentile: number;
    threshold: number;
    kept: number;
    keptMeanReward: number;
    loss: number;
  }[];
}

/**
 * Runs ReST. Grow samples with `generator` (default: the built-in engine on the policy); the
 * evaluation of the mean reward always samples the policy here. A remote generator gets the
 * policy's weights before each Grow (syncPolicy); one that cannot take them may serve only a
 * single Grow, whose policy is the starting one.
 */
export async function trainReST(
  policy: GPT,
  tok: Tokenizer,
  prompts: string[],
  reward: RewardFn,
  cfg: ReSTConfig,
  log: (m: string) => void,
  generator?: Generator,
): Promise<ReSTResult> {
  validateReSTConfig(cfg);
  if (prompts.length === 0) throw new Error('ReST needs prompts');
  mkdirSync(cfg.outDir, { recursive: true });
  const local = new LocalGenerator(policy, tok, { batchSize: 64 });
  const grower: Generator = generator ?? local;
  const syncGrower = async (gi: number) => {
    if (!grower.syncPolicy) return;
    if (await grower.syncPolicy(policy)) return;
    if (cfg.grows > 1) {
      throw new Error(
        `${grower.name} cannot take the improved policy's weights, so Grows after the first would sample a stale model; ` +
          'serve the policy with `rlhf serve-model --model DIR --accept-weights`, or use --grows 1',
      );
    }
    if (gi === 0)
      log(
        `rest: ${grower.name} takes no weights; Grow samples the model it serves, which should be the starting policy`,
      );
  };
  await syncGrower(0);
  const evalReward = async (seed: number) => {
    const s = await grow(local, tok, prompts, reward, cfg, seed, 1);
    return s.reduce((a, x) => a + x.reward, 0) / s.length;
  };
  const result: ReSTResult = { meanReward: [await evalReward(cfg.seed + 777)], improves: [] };
  log(`rest: starting policy's mean reward ${result.meanReward[0].toFixed(4)} over ${prompts.length} prompts`);
  const replica = { models: { policy }, heads: {} };
  writeFileSync(join(cfg.outDir, 'rest.jsonl'), JSON.stringify({ grow: 0, mean_reward: result.meanReward[0] }) + '\n');
  let first = true;
  for (let gi = 0; gi < cfg.grows; gi++) {
    if (gi > 0) await syncGrower(gi);
    const data = await grow(grower, tok, prompts, reward, cfg, cfg.seed + 1000 * (gi + 1), cfg.samplesPerPrompt);
    const rewards = data.map((d) => d.reward);
    log(
      `rest: grow ${gi + 1}: ${data.length} samples, mean reward ${(rewards.reduce((a, b) => a + b, 0) / rewards.length).toFixed(4)}`,
    );
    for (let k = 0; k < cfg.percentiles.length; k++) {
      const threshold = percentile(rewards, cfg.percentiles[k]);
      const kept = data.filter((d) => d.reward >= threshold);
      // Reward-weighted: weights grow linearly with the reward above the threshold; the floor δ keeps
      // the sample at the threshold in the set (a tenth of the best one's excess, or 1e-3).
      const floor = Math.max(1e-3, 0.1 * (Math.max(...kept.map((d) => d.reward)) - threshold));
      const examples = kept.map((d) => ({
        prompt: encodePrompt(tok, d.prompt),
        completion: d.completion,
        ...(cfg.rewardWeighted ? { weight: d.reward - threshold + floor } : {}),
      }));
      const source = pairSource(examples, cfg.contextLength, tok.eosId, cfg.seed + gi * 100 + k);
      const steps = Math.max(1, Math.ceil((cfg.epochsPerImprove * kept.length) / cfg.batchSize));
      const summary = runTraining(
        {
          params: policy.params,
          step(rng, step) {
            const b = source.sample(rng, cfg.batchSize, step);
            const shards = shardLM(b.ids, b.targets, b.B, b.T, shardCount(), b.weights);
            const losses = runSharded(replica, kernels.lmStep, shards);
            return { loss: losses.reduce((a, l, j) => a + l * shards[j].weight, 0), tokens: b.B * b.T };
          },
          save: (dir) =>
            saveCheckpoint(dir, policy, {
              tokenizer: tok,
              meta: { kind: 'policy', trainer: 'rest', grow: gi + 1, improve: k + 1 },
            }),
        },
        { ...cfg, steps },
        {
          outDir: cfg.outDir,
          label: `rest g${gi + 1} i${k + 1}`,
          quiet: cfg.quiet,
          appendMetrics: !first,
          tags: { 'rest/grow': gi + 1, 'rest/improve': k + 1, 'rest/threshold': threshold },
        },
      );
      first = false;
      const keptMeanReward = kept.reduce((a, d) => a + d.reward, 0) / kept.length;
      result.improves.push({
        grow: gi + 1,
        improve: k + 1,
        percentile: cfg.percentiles[k],
        threshold,
        kept: kept.length,
        keptMeanReward,
        loss: summary.finalLoss,
      });
      log(
        `rest: grow ${gi + 1} improve ${k + 1}: threshold ${threshold.toFixed(4)} (p${cfg.percentiles[k]}), ${kept.length} kept (mean reward ${keptMeanReward.toFixed(4)}), ${steps} steps, loss ${summary.finalLoss.toFixed(3)}`,
      );
    }
    result.meanReward.push(await evalReward(cfg.seed + 777));
    log(`rest: after grow ${gi + 1}: mean reward ${result.meanReward[gi + 1].toFixed(4)}`);
    appendFileSync(
      join(cfg.outDir, 'rest.jsonl'),
      JSON.stringify({ grow: gi + 1, mean_reward: result.meanReward[gi + 1] }) + '\n',
    );
  }
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
