// PPO against a reward (Stiennon et al.; Ziegler et al.) on the shared training loop. Each iteration
// has three phases: collecting rollouts (ppo-rollouts.ts: sample, score, log-probs and values),
// shaping rewards (src/objectives/ppo-rewards.ts: penalties, per-token KL, GAE), and the minibatch
// epochs (ppo-epochs.ts: one optimizer update of the loop each, on its learning-rate schedule). A
// value head shares the policy's trunk; the reference is the starting policy, frozen (with LoRA, the
// same model with its adapters off, not a copy). The run saves and resumes at iteration boundaries.

import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RewardLike, asRewardSet, rewardMetrics, rewardsAt } from './reward-fn.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import { type ScalarHead, valueHead } from '../model/heads.js';
import { freezeModel, trainableParams } from '../model/lora.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { AdaptiveKLController, FixedKLController, type KLController } from '../objectives/kl-controller.js';
import { sampledEntropy, shapeRewards } from '../objectives/ppo-rewards.js';
import { maskedMean } from '../objectives/whiten.js';
import { type OptimConfig, TrainingRun } from './loop.js';
import { type PPOConfig, ppoOptions, updatesPerIteration } from './ppo-config.js';
import { trainOnRollouts } from './ppo-epochs.js';
import { type RolloutFinish, type Rollouts, collectRollouts, rolloutPrompts } from './ppo-rollouts.js';
import { progress } from './progress.js';
import { applyLora, resumeLora } from './lora-options.js';
import { Monitor, type MonitorObservation, type MonitorSetup, type MonitorSummary } from './monitor.js';
import { referenceOf } from './reference.js';

export { PPOConfig, defaultPPOConfig } from './ppo-config.js';

export interface PPOResult {
  /** Mean score of each iteration's rollouts (before the KL penalty), from the first iteration of the run. */
  scores: number[];
  /** Mean KL (nats per completion) of each iteration's rollouts to the reference. */
  kl: number[];
  /** Seconds spent in this process, over its iterations, in each part of PPO (its cost, made visible). */
  seconds: { generation: number; scoring: number; logprobs: number; training: number };
  /** With a monitor (--monitor-prompts): where its signal peaked (best/), and whether the run stopped for parting. */
  monitor?: MonitorSummary;
}

/** What trainPPO takes besides its policy, prompts, reward and configuration. */
export interface PPOInputs {
  /** The over-optimization monitor (src/train/monitor.ts): held-out prompts, signals, best/. */
  monitor?: MonitorSetup;
}

/** What one iteration's rollouts were, for callers that watch training (e.g. a gold judge alongside the proxy). */
export interface PPOIteration {
  iteration: number;
  prompts: string[];
  completions: string[];
  /** Raw reward-function scores, before clipping and penalties. */
  scores: number[];
  /** 'stop' (end-of-text or a stop text) or 'length' (cut at maxNewTokens), per completion. */
  finishReasons: RolloutFinish[];
  /** Mean KL (nats per completion) to the reference. */
  kl: number;
}

/** What trainer_state.json keeps besides the loop's own state, to resume at an iteration boundary. */
interface PPOState {
  iteration: number;
  klCoef: number;
  history: { scores: number[]; kl: number[] };
}

/** The loop's optimizer settings of a PPO run: one step is one minibatch update. */
function optimConfigOf(cfg: PPOConfig): OptimConfig {
  return {
    steps: cfg.iterations * updatesPerIteration(cfg),
    lr: cfg.lr,
    schedule: cfg.lrSchedule,
    warmupSteps: cfg.warmupSteps,
    weightDecay: 0,
    beta1: 0.9,
    beta2: 0.95,
    gradClip: cfg.gradClip,
    evalEvery: 0,
    saveEvery: 0,
    seed: cfg.seed,
    tensorboard: cfg.tensorboard,
  };
}

/**
 * Trains `policy` in place. With cfg.resume and a saved run in cfg.outDir, `policy` must be the
 * starting policy (the reference); the trained weights, value head, optimizer, RNG and KL
 * coefficient come from outDir. `reward` is a function or a set of weighted rewards: the (total) score
 * is `objective/scores`, and each reward's mean and std are logged as `rewards/NAME/mean` and `/std`.
 */
export async function trainPPO(
  policy: CausalLM,
  tok: Tokenizer,
  prompts: string[],
  reward: RewardLike,
  cfg: PPOConfig,
  log: (m: string) => void,
  onIteration?: (it: PPOIteration) => void | Promise<void>,
  inputs: PPOInputs = {},
): Promise<PPOResult> {
  if (prompts.length === 0) throw new Error('PPO needs prompts');
  ppoOptions.validate(cfg);
  const lora = applyLora(policy, cfg, log);
  // The frozen π_ref: the starting policy; with LoRA, the policy with its adapters off.
  const ref = lora ? policy : policy.clone();
  if (!lora) freezeModel(ref);
  policy.gradientCheckpointing = cfg.gradientCheckpointing;
  const head = valueHead(policy.config.nEmbd, cfg.seed);
  const replica = { models: { policy }, heads: { value: head } };
  const refReplica = { models: { policy: ref }, heads: {}, baseOnly: !!lora };
  const U = updatesPerIteration(cfg);
  const run = new TrainingRun([...trainableParams(policy), ...head.params], optimConfigOf(cfg), {
    outDir: cfg.outDir,
    resume: cfg.resume,
  });
  const state = run.resumed as unknown as PPOState | null;
  const first = state?.iteration ?? 0;
  const saveModel = (dir: string) =>
    saveCheckpoint(dir, policy, {
      heads: [head],
      tokenizer: tok,
      meta: { kind: 'policy', trainer: 'ppo', klCoef: kl.value },
    });
  // Started before a resumed run's weights go back in: the monitor samples the reference's answers now.
  const monitor = inputs.monitor
    ? await Monitor.create(
        inputs.monitor,
        {
          trainer: 'ppo',
          unit: 'iteration',
          policy,
          tok,
          proxy: asRewardSet(reward),
          outDir: cfg.outDir,
          seed: cfg.seed,
          maxNewTokens: cfg.maxNewTokens,
          stop: cfg.stop,
          reference: referenceOf(ref, tok, !!lora),
          save: saveModel,
          log,
        },
        first,
      )
    : null;
  if (state && !resumeLora(policy, cfg.outDir, [head])) restoreWeights(cfg.outDir, policy, head);
  const kl: KLController =
    cfg.targetKL > 0
      ? new AdaptiveKLController(state?.klCoef ?? cfg.initKL, cfg.targetKL, cfg.horizon)
      : new FixedKLController(cfg.initKL);
  const result: PPOResult = {
    scores: [...(state?.history.scores ?? [])],
    kl: [...(state?.history.kl ?? [])],
    seconds: { generation: 0, scoring: 0, logprobs: 0, training: 0 },
  };
  if (state) log(`ppo: resuming ${cfg.outDir} after iteration ${first} of ${cfg.iterations}`);
  const samplesPath = join(cfg.outDir, 'samples.jsonl');
  if (!state && cfg.samplesEvery > 0) writeFileSync(samplesPath, '');
  const end = Math.min(cfg.iterations, cfg.stopAfter ?? Infinity);
  const bar = progress('ppo', cfg.iterations, { quiet: cfg.quiet, unit: 'iterations' });
  const save = (iteration: number) => {
    saveModel(cfg.outDir);
    const extra: PPOState = { iteration, klCoef: kl.value, history: { scores: result.scores, kl: result.kl } };
    run.saveState(iteration * U, { ...extra });
  };
  let stopped = false;
  try {
    if (monitor && first === 0) run.log({ iteration: 0, ...(await monitor.observe(0)).metrics });
    for (let it = first; it < end; it++) {
      // ---- rollouts ----
      const batch = rolloutPrompts(prompts, it, cfg.rolloutBatch);
      const roll = await collectRollouts(replica, refReplica, tok, batch, reward, cfg, it, result.seconds);
      const P = roll.pairs.length;

      // ---- rewards and advantages ----
      const t0 = performance.now();
      const shaped = shapeRewards(
        {
          scores: roll.scores,
          finished: roll.finishReasons.map((f) => f === 'stop'),
          logp: roll.logp,
          logpRef: roll.logpRef,
          values: roll.values,
          mask: roll.mask,
          B: P,
          T: roll.Tc,
        },
        { ...cfg, beta: kl.value },
      );
      const meanKL = shaped.kl.reduce((a, b) => a + b, 0) / P;
      const meanScore = shaped.scores.reduce((a, b) => a + b, 0) / P;

      // ---- minibatch epochs ----
      const stats = trainOnRollouts(run, replica, roll, shaped, cfg, tok, it * U);
      result.seconds.training += (performance.now() - t0) / 1000;
      const watched: MonitorObservation | null = monitor?.due(it + 1, it + 1 === cfg.iterations)
        ? await monitor.observe(it + 1)
        : null;
      run.log({
        iteration: it + 1,
        'objective/scores': meanScore,
        ...rewardMetrics({ total: roll.scores, perFunction: roll.perFunction }),
        'objective/kl': meanKL,
        'objective/kl_coef': kl.value,
        'objective/entropy': sampledEntropy(roll.logp, roll.mask, P, roll.Tc),
        'val/num_eos_tokens': roll.finishReasons.filter((f) => f === 'stop').length,
        'ppo/returns/mean': maskedMean(shaped.returns, roll.mask),
        'train/lr': stats.lr,
        'train/grad_norm': stats.gradNorm,
        ...stats.metrics,
        ...watched?.metrics,
      });
      result.scores.push(meanScore);
      result.kl.push(meanKL);
      if (meanKL < -0.05)
        log(
          `ppo: warning: iteration ${it + 1} has negative KL (${meanKL.toFixed(3)} nats): the samples look more ` +
            `likely under the reference than the policy (a noisy estimate from few rollouts; raise --rollout-batch)`,
        );
      if (cfg.targetKL > 0 && meanKL > 5 * cfg.targetKL)
        log(
          `ppo: warning: KL ${meanKL.toFixed(2)} nats is over 5× the target ${cfg.targetKL}: the policy is ` +
            `running from the reference; lower --lr or raise --init-kl`,
        );
      kl.update(meanKL, P);
      await onIteration?.({
        iteration: it + 1,
        prompts: batch,
        completions: roll.texts,
        scores: roll.scores,
        finishReasons: roll.finishReasons,
        kl: meanKL,
      });
      if (cfg.samplesEvery > 0 && (it + 1) % cfg.samplesEvery === 0)
        appendFileSync(samplesPath, samplesJSONL(roll, it + 1));
      stopped = watched?.stop ?? false;
      if ((cfg.saveEvery > 0 && (it + 1) % cfg.saveEvery === 0) || it + 1 === end || stopped) save(it + 1);
      bar.update(it + 1, { score: meanScore, kl: meanKL });
      if (stopped) break;
    }
  } finally {
    bar.stop();
    run.close();
  }
  if (monitor) result.monitor = monitor.finish(stopped || end === cfg.iterations);
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

/** Puts a saved run's policy and value-head weights into `policy` and `head`. */
function restoreWeights(dir: string, policy: CausalLM, head: ScalarHead): void {
  const ck = loadCheckpoint(dir);
  const saved = ck.heads.get(head.prefix);
  if (!saved) throw new Error(`${dir}: the PPO checkpoint has no value head (${head.prefix}); it cannot be resumed`);
  const byName = new Map(ck.model.params.map((p) => [p.name, p]));
  for (const p of policy.params) {
    const q = byName.get(p.name);
    if (!q || q.size !== p.size)
      throw new Error(`${dir}: ${p.name} does not match the starting policy (--init); resume with the same model`);
    p.data.set(q.data);
    p.version++;
  }
  head.params.forEach((p, i) => p.data.set(saved.params[i].data));
}

/**
 * One line per rollout: what was sampled, how it ended and what it scored (the raw weighted total, before
 * penalties and clipping, and each reward's own score).
 */
function samplesJSONL(roll: Rollouts, iteration: number): string {
  return roll.prompts
    .map((prompt, i) =>
      JSON.stringify({
        iteration,
        prompt,
        completion: roll.texts[i],
        score: roll.scores[i],
        rewards: rewardsAt(roll.perFunction, i),
        finish_reason: roll.finishReasons[i],
      }),
    )
    .join('\n')
    .concat('\n');
}
