// The run GRPO and RLOO share, on the shared training loop: each step samples G completions of a batch of
// prompts (policy-gradient-rollouts.ts) with the built-in engine or a server (--generator, sent the new
// weights after each step), scores them, takes the log-probs the algorithm needs, turns rewards into
// advantages (the algorithm's: grpo.ts, rloo.ts), and makes μ updates (policy-gradient-updates.ts). The
// reference is the starting policy, frozen (with LoRA, the same model with its adapters off), and only kept
// when β > 0. The run saves and resumes at step boundaries.

import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EpochOrder } from '../data/batching.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { ChatTemplate } from '../model/chat-template.js';
import { saveChatTemplate } from '../model/chat-template-file.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { freezeModel, trainableParams } from '../model/lora.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { meanOf, unbiasedStd } from '../objectives/grpo.js';
import { type Generator, LocalGenerator } from './generator.js';
import { type OptimConfig, TrainingRun } from './loop.js';
import { applyLora, resumeLora } from './lora-options.js';
import { Monitor, type MonitorObservation, type MonitorSetup, type MonitorSummary } from './monitor.js';
import { type PolicyGradientOptions, updatesOf } from './policy-gradient-config.js';
import {
  type GroupRollouts,
  type PromptRow,
  groupLogProbs,
  sampleGroups,
  stepRows,
} from './policy-gradient-rollouts.js';
import { type UpdateOptions, updatePolicy } from './policy-gradient-updates.js';
import { progress } from './progress.js';
import { referenceOf } from './reference.js';
import { type RewardSet, rewardMetrics, rewardsAt } from './reward-fn.js';

export type { PromptRow } from './policy-gradient-rollouts.js';

export interface PolicyGradientConfig extends PolicyGradientOptions {
  outDir: string;
  /** Stop (saving a resumable checkpoint) after this many steps of the run, to be resumed. */
  stopAfter?: number;
}

/** What GRPO or RLOO brings to the shared run. */
export interface Algorithm extends Pick<UpdateOptions, 'objective' | 'share'> {
  name: 'grpo' | 'rloo';
  /** Log-probs at sampling are needed even with one update per batch (RLOO's KL in the reward). */
  needsOldLogp: boolean;
  /** Advantages (N) of a batch; `kl` is the metric when the algorithm measures it here (RLOO's KL in the reward). */
  advantages(
    roll: GroupRollouts,
    oldLogp: Float32Array | null,
    refLogp: Float32Array | null,
  ): { advantages: Float32Array; fracZeroStd: number; kl?: number };
  /** Extra fields of the checkpoint's meta (β, loss type, …). */
  meta: Record<string, unknown>;
}

export interface PolicyGradientInputs {
  /** Samples the completions (default: the built-in engine on the policy); gets the weights after each step. */
  generator?: Generator;
  /** Renders conversational prompts (and is saved with the policy). */
  chatTemplate?: ChatTemplate | null;
  /** Called after each step with what was sampled (the demo watches a gold judge alongside). */
  onStep?: (s: PolicyGradientStep) => void | Promise<void>;
  /** The over-optimization monitor (src/train/monitor.ts): held-out prompts, signals, best/. */
  monitor?: MonitorSetup;
}

export interface PolicyGradientStep {
  step: number;
  prompts: string[];
  completions: string[];
  rewards: number[];
  kl: number;
}

export interface PolicyGradientResult {
  /** Mean reward (the weighted total) of each step's completions, from the first step of the run. */
  rewards: number[];
  /** Mean KL to the reference per token at each step (0 with β = 0). */
  kl: number[];
  /** Seconds spent in this process in each part. */
  seconds: { generation: number; scoring: number; logprobs: number; training: number };
  /** With a monitor (--monitor-prompts): where its signal peaked (best/), and whether the run stopped for parting. */
  monitor?: MonitorSummary;
}

/** What trainer_state.json keeps besides the loop's own state. */
interface RunState {
  step: number;
  history: { rewards: number[]; kl: number[] };
}

function optimConfigOf(cfg: PolicyGradientConfig): OptimConfig {
  return {
    steps: updatesOf(cfg),
    lr: cfg.lr,
    schedule: cfg.lrSchedule,
    warmupSteps: cfg.warmupSteps,
    weightDecay: cfg.weightDecay,
    beta1: 0.9,
    beta2: 0.999,
    gradClip: cfg.gradClip,
    evalEvery: 0,
    saveEvery: 0,
    seed: cfg.seed,
    tensorboard: cfg.tensorboard,
  };
}

/** Puts a saved run's weights into `policy`, which must be the same model (--init). */
function restoreWeights(dir: string, policy: CausalLM): void {
  const byName = new Map(loadCheckpoint(dir).model.params.map((p) => [p.name, p]));
  for (const p of policy.params) {
    const q = byName.get(p.name);
    if (!q || q.size !== p.size)
      throw new Error(`${dir}: ${p.name} does not match the starting policy (--init); resume with the same model`);
    p.data.set(q.data);
  }
}

/** Trains `policy` in place; with cfg.resume and a run in cfg.outDir, `policy` must be the starting one. */
export async function runPolicyGradient(
  policy: CausalLM,
  tok: Tokenizer,
  rows: PromptRow[],
  rewards: RewardSet,
  cfg: PolicyGradientConfig,
  algo: Algorithm,
  log: (m: string) => void,
  inputs: PolicyGradientInputs = {},
): Promise<PolicyGradientResult> {
  const name = algo.name;
  if (rows.length === 0) throw new Error(`${name} needs prompts`);
  const template = inputs.chatTemplate ?? null;
  const lora = applyLora(policy, cfg, log);
  // The frozen π_ref, only with a KL: the starting policy; with LoRA, the policy with its adapters off.
  let refReplica = null;
  if (cfg.beta > 0) {
    const ref = lora ? policy : policy.clone();
    if (!lora) freezeModel(ref);
    refReplica = { models: { policy: ref }, heads: {}, baseOnly: !!lora };
  }
  const saveModel = (dir: string) => {
    saveCheckpoint(dir, policy, { tokenizer: tok, meta: { kind: 'policy', trainer: name, ...algo.meta } });
    if (template) saveChatTemplate(dir, template);
  };
  policy.gradientCheckpointing = cfg.gradientCheckpointing;
  const replica = { models: { policy }, heads: {} };
  const mu = cfg.numIterations;
  const run = new TrainingRun(trainableParams(policy), optimConfigOf(cfg), { outDir: cfg.outDir, resume: cfg.resume });
  const state = run.resumed as unknown as RunState | null;
  const first = state?.step ?? 0;
  // Started before a resumed run's weights go back in (with β = 0 it freezes its own copy of the reference).
  const monitor = inputs.monitor
    ? await Monitor.create(
        inputs.monitor,
        {
          trainer: name,
          unit: 'step',
          policy,
          tok,
          proxy: rewards,
          outDir: cfg.outDir,
          seed: cfg.seed,
          maxNewTokens: cfg.maxCompletionLength,
          stop: cfg.stop,
          chatTemplate: template,
          reference: refReplica ? referenceOf(refReplica.models.policy, tok, !!lora) : undefined,
          save: saveModel,
          log,
        },
        first,
      )
    : null;
  if (state && !resumeLora(policy, cfg.outDir)) restoreWeights(cfg.outDir, policy);
  const result: PolicyGradientResult = {
    rewards: [...(state?.history.rewards ?? [])],
    kl: [...(state?.history.kl ?? [])],
    seconds: { generation: 0, scoring: 0, logprobs: 0, training: 0 },
  };
  if (state) log(`${name}: resuming ${cfg.outDir} after step ${first} of ${cfg.steps}`);
  const gen: Generator = inputs.generator ?? new LocalGenerator(policy, tok, { batchSize: 64 });
  const order = new EpochOrder(rows.length, cfg.seed);
  const samplesPath = join(cfg.outDir, 'samples.jsonl');
  if (!state && cfg.samplesEvery > 0) writeFileSync(samplesPath, '');
  const end = Math.min(cfg.steps, cfg.stopAfter ?? Infinity);
  const bar = progress(name, cfg.steps, { quiet: cfg.quiet });
  const save = (step: number) => {
    saveModel(cfg.outDir);
    run.saveState(step * mu, { step, history: { rewards: result.rewards, kl: result.kl } } satisfies RunState);
  };
  // A server samples the policy being trained: it gets the weights now (the starting or the resumed ones) and
  // after each step. NOTE: log-probs are always taken here, of the ids the server's text encodes to.
  const sync = async () => {
    if (gen.syncPolicy && !(await gen.syncPolicy(policy)))
      throw new Error(
        `${gen.name} cannot take the policy's weights, so it would sample a stale model; serve the policy ` +
          'with `rlhf serve-model --model DIR --accept-weights`',
      );
  };
  let stopped = false;
  try {
    if (monitor && first === 0) run.log({ step: 0, ...(await monitor.observe(0)).metrics });
    if (first < end) await sync();
    for (let step = first; step < end; step++) {
      // ---- samples, rewards and log-probs ----
      const batch = stepRows(rows, (k) => order.at(k), step, cfg.batchSize);
      const roll = await sampleGroups(gen, policy, tok, batch, rewards, cfg, step, result.seconds, template);
      const micro = cfg.microBatch || roll.pairs.length;
      const oldLogp =
        mu > 1 || algo.needsOldLogp ? groupLogProbs(replica, roll, tok, cfg.temperature, micro, result.seconds) : null;
      const refLogp = refReplica ? groupLogProbs(refReplica, roll, tok, cfg.temperature, micro, result.seconds) : null;

      // ---- advantages and updates ----
      const t0 = performance.now();
      const adv = algo.advantages(roll, oldLogp, refLogp);
      const stats = updatePolicy(
        run,
        replica,
        { roll, advantages: adv.advantages, oldLogp: mu > 1 ? oldLogp : null, refLogp },
        { ...cfg, objective: algo.objective, share: algo.share },
        tok,
        step * mu,
      );
      result.seconds.training += (performance.now() - t0) / 1000;
      await sync();
      const kl = adv.kl ?? (refLogp ? stats.kl : 0);
      const reward = meanOf(roll.rewards);
      const lengths = roll.pairs.map((p) => p.completion.length);
      const watched: MonitorObservation | null = monitor?.due(step + 1, step + 1 === cfg.steps)
        ? await monitor.observe(step + 1)
        : null;
      run.log({
        step: step + 1,
        loss: stats.loss,
        reward,
        reward_std: unbiasedStd(roll.rewards),
        frac_reward_zero_std: adv.fracZeroStd,
        ...rewardMetrics({ total: roll.rewards, perFunction: roll.perFunction }),
        ...(refLogp ? { kl } : {}),
        entropy: stats.entropy,
        'clip_ratio/low_mean': stats['clip_ratio/low_mean'],
        'clip_ratio/high_mean': stats['clip_ratio/high_mean'],
        'clip_ratio/region_mean': stats['clip_ratio/region_mean'],
        'completions/mean_length': meanOf(lengths),
        'completions/min_length': Math.min(...lengths),
        'completions/max_length': Math.max(...lengths),
        'completions/clipped_ratio': roll.finishReasons.filter((f) => f === 'length').length / lengths.length,
        'train/lr': stats.lr,
        'train/grad_norm': stats.gradNorm,
        ...watched?.metrics,
      });
      result.rewards.push(reward);
      result.kl.push(kl);
      await inputs.onStep?.({
        step: step + 1,
        prompts: roll.prompts,
        completions: roll.texts,
        rewards: roll.rewards,
        kl,
      });
      if (cfg.samplesEvery > 0 && (step + 1) % cfg.samplesEvery === 0)
        appendFileSync(samplesPath, samplesJSONL(roll, adv.advantages, step + 1));
      stopped = watched?.stop ?? false;
      if ((cfg.saveEvery > 0 && (step + 1) % cfg.saveEvery === 0) || step + 1 === end || stopped) save(step + 1);
      bar.update(step + 1, { reward, ...(refLogp ? { kl } : {}) });
      if (stopped) break;
    }
  } finally {
    bar.stop();
    run.close();
  }
  if (monitor) result.monitor = monitor.finish(stopped || end === cfg.steps);
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

/** One line per completion: what was sampled, how it ended, its rewards and advantage. */
function samplesJSONL(roll: GroupRollouts, advantages: Float32Array, step: number): string {
  return roll.prompts
    .map((prompt, i) =>
      JSON.stringify({
        step,
        prompt,
        completion: roll.texts[i],
        reward: roll.rewards[i],
        rewards: rewardsAt(roll.perFunction, i),
        advantage: advantages[i],
        finish_reason: roll.finishReasons[i],
      }),
    )
    .join('\n')
    .concat('\n');
}
