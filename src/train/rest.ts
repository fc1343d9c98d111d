// ReST (Gulcehre et al., 2023): Grow — sample M completions per prompt from the current policy and
// score them; Improve — keep the samples at or above a rising reward threshold (a percentile of
// this Grow's scores) and fine-tune on them (behaviour cloning); repeat Improve with higher
// thresholds, then Grow again from the improved policy. Grow may run on a remote generator. The
// original data (demonstrations) may join every Grow's set, as in the paper.

import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairSource } from '../data/lm-batches.js';
import type { CausalLM } from '../model/causal-lm.js';
import { encodePrompt } from '../model/prompt.js';
import { shardCount, runSharded } from '../runtime/replica.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import type { PromptCompletion } from '../data/text.js';
import { splitByKey } from '../data/split.js';
import { type RewardLike, asRewardSet } from './reward-fn.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { trainableParams } from '../model/lora.js';
import { applyLora } from './lora-options.js';
import { kernels, shardLM } from './kernels.js';
import { openTensorBoard, runTraining } from './loop.js';
import { type ReSTConfig, validateReSTConfig } from './rest-config.js';
import { Generator, LocalGenerator } from './generator.js';
import { Monitor, type MonitorSetup, type MonitorSummary } from './monitor.js';
import { grow, grownJSONL, percentile, scoreDemonstrations } from './rest-grow.js';

export { type ReSTConfig, type ReSTOptions, defaultReSTConfig, validateReSTConfig } from './rest-config.js';
export { percentile } from './rest-grow.js';

/** What ReST takes besides its prompts, reward and configuration. */
export interface ReSTInputs {
  /** Samples Grow (default: the built-in engine on the policy). */
  generator?: Generator;
  /**
   * The original data (e.g. the SFT demonstrations), added to every Grow's samples as Gulcehre et
   * al. keep it in each Grow's set: scored by the same reward and kept by the same thresholds (the
   * percentiles of the policy's samples).
   */
  demonstrations?: PromptCompletion[];
  /**
   * Held-out prompts (instead of heldOutFraction): after each Improve step, the mean reward of one
   * sample of each (fixed seed) must rise, or the step is undone and the Grow Improves no further.
   */
  heldOut?: string[];
  /** The over-optimization monitor (src/train/monitor.ts), every n Improve steps: held-out prompts, signals, best/. */
  monitor?: MonitorSetup;
}

export interface ReSTResult {
  /** Mean reward of one sample per prompt from the starting policy, and after each Grow's Improve steps. */
  meanReward: number[];
  improves: {
    grow: number;
    improve: number;
    percentile: number;
    threshold: number;
    /** Kept for fine-tuning: samples and demonstrations. */
    kept: number;
    /** Of those, demonstrations. */
    keptDemonstrations: number;
    keptMeanReward: number;
    loss: number;
    /** With held-out prompts: their mean reward after this step, and whether the step was undone for not raising it. */
    heldOutReward?: number;
    undone?: boolean;
  }[];
  /** With a monitor (--monitor-prompts): where its signal peaked (best/), and whether the run stopped for parting. */
  monitor?: MonitorSummary;
}

/** The prompts Grow samples, and the held-out ones (a file's, or heldOutFraction of the prompts by hash). */
function heldOutSplit(prompts: string[], cfg: ReSTConfig, given?: string[]): { train: string[]; heldOut: string[] } {
  if (prompts.length === 0) throw new Error('ReST needs prompts');
  if (given?.length && cfg.heldOutFraction > 0)
    throw new Error(
      `give held-out prompts or heldOutFraction (--held-out-fraction), not both: got ${given.length} prompts ` +
        `and ${cfg.heldOutFraction}`,
    );
  if (cfg.heldOutFraction === 0) return { train: prompts, heldOut: given ?? [] };
  const s = splitByKey(prompts, (p) => p, cfg.heldOutFraction);
  if (s.train.length === 0 || s.eval.length === 0)
    throw new Error(
      `heldOutFraction (--held-out-fraction) ${cfg.heldOutFraction} of ${prompts.length} prompts leaves ` +
        `${s.train.length} to Grow on and ${s.eval.length} held out; both need at least one`,
    );
  return { train: s.train, heldOut: s.eval };
}

/**
 * Runs ReST. Grow samples with `inputs.generator` (default: the built-in engine on the policy); the
 * evaluation of the mean reward always samples the policy here. A remote generator gets the
 * policy's weights before each Grow (syncPolicy); one that cannot take them may serve only a
 * single Grow, whose policy is the starting one. The reward is a function or a set of weighted rewards,
 * whose total is the reward; rest.jsonl gets each one's mean and std too (rewards/NAME/mean, /std).
 */
export async function trainReST(
  policy: CausalLM,
  tok: Tokenizer,
  prompts: string[],
  rewardFnOrSet: RewardLike,
  cfg: ReSTConfig,
  log: (m: string) => void,
  inputs: ReSTInputs = {},
): Promise<ReSTResult> {
  validateReSTConfig(cfg);
  const reward = asRewardSet(rewardFnOrSet);
  applyLora(policy, cfg, log);
  const { train: growPrompts, heldOut } = heldOutSplit(prompts, cfg, inputs.heldOut);
  mkdirSync(cfg.outDir, { recursive: true });
  // One event file for the whole run: each Improve's steps follow the ones before, so TensorBoard's
  // x axis is the fine-tuning steps taken so far (metrics.jsonl's `step` restarts at each Improve).
  const events = cfg.tensorboard ? openTensorBoard(cfg.tensorboard) : null;
  let stepsDone = 0;
  /** rest.jsonl's line for a Grow, and the same numbers in TensorBoard under rest/ (or their own rewards/…). */
  const logGrow = (line: Record<string, number>) => {
    (line.grow === 0 ? writeFileSync : appendFileSync)(join(cfg.outDir, 'rest.jsonl'), JSON.stringify(line) + '\n');
    const named = Object.entries(line).filter(([k]) => k !== 'grow');
    events?.scalars(stepsDone, Object.fromEntries(named.map(([k, v]) => [k.includes('/') ? k : `rest/${k}`, v])));
  };
  // Every runTraining below appends to metrics.jsonl, after the monitor's first line.
  writeFileSync(join(cfg.outDir, 'metrics.jsonl'), '');
  // The Grow and Improve step the policy is at, in its checkpoint's meta.
  let at = { grow: 0, improve: 0 };
  const saveModel = (dir: string) =>
    saveCheckpoint(dir, policy, { tokenizer: tok, meta: { kind: 'policy', trainer: 'rest', ...at } });
  const monitor = inputs.monitor
    ? await Monitor.create(inputs.monitor, {
        trainer: 'rest',
        unit: 'improve step',
        policy,
        tok,
        proxy: reward,
        outDir: cfg.outDir,
        seed: cfg.seed,
        maxNewTokens: cfg.maxNewTokens,
        stop: cfg.stop,
        save: saveModel,
        log,
      })
    : null;
  // Improve steps taken (the monitor's unit), and a monitor evaluation's line of metrics.jsonl.
  let improveSteps = 0;
  let stopped = false;
  const watch = async (step: number) => {
    const o = await monitor!.observe(step);
    appendFileSync(
      join(cfg.outDir, 'metrics.jsonl'),
      JSON.stringify({ 'rest/grow': at.grow, 'rest/improve': at.improve, step, ...o.metrics }) + '\n',
    );
    events?.scalars(step, o.metrics);
    stopped = o.stop;
  };
  if (monitor) await watch(0);
  const contextLength = cfg.contextLength ?? policy.config.nPositions;
  const local = new LocalGenerator(policy, tok, { batchSize: 64 });
  const grower: Generator = inputs.generator ?? local;
  const syncGrower = async (gi: number) => {
    if (!grower.syncPolicy) return;
    if (await grower.syncPolicy(policy)) return;
    if (cfg.grows > 1) {
      throw new Error(
        `${grower.name} cannot take the improved policy's weights, so Grows after the first would sample a ` +
          `stale model; ` +
          'serve the policy with `rlhf serve-model --model DIR --accept-weights`, or use --grows 1',
      );
    }
    if (gi === 0)
      log(
        `rest: ${grower.name} takes no weights; Grow samples the model it serves, which should be the starting policy`,
      );
  };
  await syncGrower(0);
  // The mean reward of one sample per prompt, and each reward's mean and std (for rest.jsonl).
  let evalMetrics: Record<string, number> = {};
  const evalReward = async (seed: number) => {
    const { samples: s, metrics } = await grow(local, tok, growPrompts, reward, cfg, seed, 1);
    evalMetrics = metrics;
    return s.reduce((a, x) => a + x.reward, 0) / s.length;
  };
  // The held-out reward: one sample of each held-out prompt, always with the same seed.
  const heldOutReward = async () => {
    const { samples: s } = await grow(local, tok, heldOut, reward, cfg, cfg.seed + 555, 1);
    return s.reduce((a, x) => a + x.reward, 0) / s.length;
  };
  let bestHeldOut = heldOut.length ? await heldOutReward() : NaN;
  if (heldOut.length)
    log(`rest: ${heldOut.length} held-out prompts; the starting policy's reward on them ${bestHeldOut.toFixed(4)}`);
  const result: ReSTResult = { meanReward: [await evalReward(cfg.seed + 777)], improves: [] };
  log(`rest: starting policy's mean reward ${result.meanReward[0].toFixed(4)} over ${growPrompts.length} prompts`);
  policy.gradientCheckpointing = cfg.gradientCheckpointing;
  const replica = { models: { policy }, heads: {} };
  // NOTE: with LoRA, Improve trains the adapters only; Grow samples with them on.
  const trainable = trainableParams(policy);
  logGrow({
    grow: 0,
    mean_reward: result.meanReward[0],
    ...evalMetrics,
    ...(heldOut.length ? { held_out_reward: bestHeldOut } : {}),
  });
  const samplesPath = join(cfg.outDir, 'samples.jsonl');
  if (cfg.samplesEvery > 0) writeFileSync(samplesPath, '');
  const demos = await scoreDemonstrations(inputs.demonstrations ?? [], tok, reward);
  if (demos.length)
    log(
      `rest: ${demos.length} demonstrations join every Grow's samples (mean reward ` +
        `${(demos.reduce((a, d) => a + d.reward, 0) / demos.length).toFixed(4)})`,
    );
  for (let gi = 0; gi < cfg.grows && !stopped; gi++) {
    if (gi > 0) await syncGrower(gi);
    const seed = cfg.seed + 1000 * (gi + 1);
    const { samples: data, metrics } = await grow(grower, tok, growPrompts, reward, cfg, seed, cfg.samplesPerPrompt);
    if (cfg.samplesEvery > 0 && (gi + 1) % cfg.samplesEvery === 0)
      appendFileSync(samplesPath, grownJSONL(data, gi + 1));
    const rewards = data.map((d) => d.reward);
    const each =
      reward.names.length > 1
        ? ` (${reward.names.map((n) => `${n} ${metrics[`rewards/${n}/mean`].toFixed(4)}`).join(', ')})`
        : '';
    log(
      `rest: grow ${gi + 1}: ${data.length} samples, mean reward ` +
        `${(rewards.reduce((a, b) => a + b, 0) / rewards.length).toFixed(4)}${each}`,
    );
    for (let k = 0; k < cfg.percentiles.length; k++) {
      const threshold = percentile(rewards, cfg.percentiles[k]);
      const kept = [...data, ...demos].filter((d) => d.reward >= threshold);
      const keptDemonstrations = kept.filter((d) => d.demonstration).length;
      // Reward-weighted: weights grow linearly with the reward above the threshold; the floor δ keeps
      // the sample at the threshold in the set (a tenth of the best one's excess, or 1e-3).
      const floor = Math.max(1e-3, 0.1 * (Math.max(...kept.map((d) => d.reward)) - threshold));
      const examples = kept.map((d) => ({
        prompt: encodePrompt(tok, d.prompt),
        completion: d.completion,
        ...(cfg.rewardWeighted ? { weight: d.reward - threshold + floor } : {}),
      }));
      const source = pairSource(examples, contextLength, tok.eosId, cfg.seed + gi * 100 + k);
      const before = heldOut.length ? trainable.map((p) => Float32Array.from(p.data)) : [];
      const steps = Math.max(1, Math.ceil((cfg.epochsPerImprove * kept.length) / cfg.batchSize));
      const summary = runTraining(
        {
          params: trainable,
          step(rng, step) {
            const b = source.sample(rng, cfg.batchSize, step);
            const shards = shardLM(b.ids, b.targets, b.B, b.T, shardCount(), b.weights);
            const losses = runSharded(replica, kernels.lmStep, shards);
            return { loss: losses.reduce((a, l, j) => a + l * shards[j].weight, 0), tokens: b.B * b.T };
          },
          save: (dir) => {
            at = { grow: gi + 1, improve: k + 1 };
            saveModel(dir);
          },
        },
        { ...cfg, steps, evalEvery: 0, saveEvery: 0 },
        {
          outDir: cfg.outDir,
          label: `rest g${gi + 1} i${k + 1}`,
          quiet: cfg.quiet,
          appendMetrics: true,
          tags: { 'rest/grow': gi + 1, 'rest/improve': k + 1, 'rest/threshold': threshold },
          events: events ? { writer: events, stepOffset: stepsDone } : undefined,
        },
      );
      stepsDone += summary.steps;
      const keptMeanReward = kept.reduce((a, d) => a + d.reward, 0) / kept.length;
      const entry: ReSTResult['improves'][number] = {
        grow: gi + 1,
        improve: k + 1,
        percentile: cfg.percentiles[k],
        threshold,
        kept: kept.length,
        keptDemonstrations,
        keptMeanReward,
        loss: summary.finalLoss,
      };
      result.improves.push(entry);
      log(
        `rest: grow ${gi + 1} improve ${k + 1}: threshold ${threshold.toFixed(4)} (p${cfg.percentiles[k]}), ` +
          `${kept.length} kept${demos.length ? ` (${keptDemonstrations} of them demonstrations)` : ''} (mean ` +
          `reward ${keptMeanReward.toFixed(4)}), ${steps} steps, loss ${summary.finalLoss.toFixed(3)}`,
      );
      if (heldOut.length) {
        // Early stopping (Gulcehre et al.): keep Improving while the held-out reward rises; else keep
        // the policy from before this step, on disk too, and go on to the next Grow.
        entry.heldOutReward = await heldOutReward();
        entry.undone = !(entry.heldOutReward > bestHeldOut);
        log(
          `rest: grow ${gi + 1} improve ${k + 1}: held-out reward ${entry.heldOutReward.toFixed(4)} (best so ` +
            `far ${bestHeldOut.toFixed(4)})${entry.undone ? '; undone, and this Grow Improves no further' : ''}`,
        );
        if (!entry.undone) bestHeldOut = entry.heldOutReward;
        else {
          trainable.forEach((p, j) => {
            p.data.set(before[j]);
            p.version++;
          });
          at = { grow: gi + 1, improve: k };
          saveModel(cfg.outDir);
          break;
        }
      }
      improveSteps++;
      const last = gi + 1 === cfg.grows && k + 1 === cfg.percentiles.length;
      if (monitor?.due(improveSteps, last)) await watch(improveSteps);
      if (stopped) break;
    }
    result.meanReward.push(await evalReward(cfg.seed + 777));
    log(`rest: after grow ${gi + 1}: mean reward ${result.meanReward[gi + 1].toFixed(4)}`);
    logGrow({
      grow: gi + 1,
      mean_reward: result.meanReward[gi + 1],
      ...evalMetrics,
      ...(heldOut.length ? { held_out_reward: bestHeldOut } : {}),
    });
  }
  if (monitor) {
    // A last Grow that stopped Improving early ends before the step the schedule called last.
    if (!stopped && !monitor.has(improveSteps)) await watch(improveSteps);
    result.monitor = monitor.finish();
  }
  events?.close();
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
