// Online DPO (Guo et al., 2024, "Direct Language Model Alignment from Online AI Feedback"): each step the
// current policy samples two completions of each prompt (online-dpo-samples.ts, through a Generator, so a
// server can sample), a reward set judges them, the higher scored is chosen (the first on a tie, as TRL),
// and the pairs train the policy with the DPO loss of `train dpo` (src/objectives/dpo.ts: β, IPO, label
// smoothing). The reference is the starting policy, frozen (with LoRA, the policy with its adapters off).
// A remote generator gets the policy's weights before each step's sampling.

import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EpochOrder } from '../data/batching.js';
import type { CausalLM } from '../model/causal-lm.js';
import { trainableParams } from '../model/lora.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { runSharded } from '../runtime/replica.js';
import { type EncodedPair, combineShards, dpoShards, fitPair, sequenceValue } from './dpo.js';
import { type Generator, LocalGenerator } from './generator.js';
import { kernels } from './kernels.js';
import { TrainingRun } from './loop.js';
import { applyLora } from './lora-options.js';
import { Monitor, type MonitorObservation, type MonitorSetup, type MonitorSummary } from './monitor.js';
import { type OnlineDPOConfig, onlineDPOOptions } from './online-dpo-config.js';
import { type PairSamples, type PromptRow, pairSamplesJSONL, samplePairs } from './online-dpo-samples.js';
import { promptRowsOf } from './prompt-samples.js';
import { progress } from './progress.js';
import { frozenReference, resumePolicy, savePolicy } from './reference.js';
import { type RewardLike, asRewardSet, rewardMetrics } from './reward-fn.js';

export { type OnlineDPOConfig, type OnlineDPOOptions, defaultOnlineDPOConfig } from './online-dpo-config.js';

export interface OnlineDPOResult {
  steps: number;
  startStep: number;
  firstLoss: number;
  finalLoss: number;
  /** Mean score of each step's samples (after the missing-EOS penalty), from the first step of this process. */
  scores: number[];
  /** Seconds spent in this process in each part of a step. */
  seconds: { generation: number; logprobs: number; training: number };
  /** With a monitor (--monitor-prompts): where its signal peaked (best/), and whether the run stopped for parting. */
  monitor?: MonitorSummary;
}

/** Each prompt's two samples as a DPO pair, the higher score chosen (the first on a tie). */
function choosePairs(s: PairSamples, scores: number[], ctx: number, ref: number[][], loss: OnlineDPOConfig['loss']) {
  const B = s.pairs.length / 2;
  const chosenIdx = Array.from({ length: B }, (_, p) => (scores[2 * p] >= scores[2 * p + 1] ? 2 * p : 2 * p + 1));
  const pairs: EncodedPair[] = chosenIdx.map((c) => {
    const r = c % 2 === 0 ? c + 1 : c - 1;
    return {
      chosen: fitPair(s.pairs[c], ctx),
      rejected: fitPair(s.pairs[r], ctx),
      refChosen: sequenceValue(ref[c], loss),
      refRejected: sequenceValue(ref[r], loss),
    };
  });
  return { chosenIdx, pairs };
}

/** TRL's online DPO metrics of a step, from its samples, scores and the policy's and reference's log-probs. */
export function onlineDPOMetrics(
  s: PairSamples,
  scores: number[],
  chosenIdx: number[],
  policySums: number[],
  refSums: number[],
  beta: number,
): Record<string, number> {
  const N = scores.length;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const kl = mean(policySums.map((x, i) => x - refSums[i]));
  const rejectedIdx = chosenIdx.map((c) => (c % 2 === 0 ? c + 1 : c - 1));
  const meanScore = mean(scores);
  const out: Record<string, number> = {
    'objective/scores': meanScore,
    'objective/scores_margin': mean(chosenIdx.map((c, p) => scores[c] - scores[rejectedIdx[p]])),
    'objective/kl': kl,
    'objective/non_score_reward': -beta * kl,
    'objective/rlhf_reward': meanScore - beta * kl,
    'objective/entropy': -mean(policySums),
    'logps/chosen': mean(chosenIdx.map((c) => policySums[c])),
    'logps/rejected': mean(rejectedIdx.map((r) => policySums[r])),
    'val/contain_eos_token': s.finished.filter(Boolean).length / N,
    'completions/mean_length': mean(s.pairs.map((p) => p.completion.length)),
  };
  return { ...out, ...rewardMetrics({ total: s.scores, perFunction: s.perFunction }) };
}

/** What online DPO takes besides its prompts, rewards and configuration. */
export interface OnlineDPOInputs {
  /** Samples each step (default: the built-in engine on the policy). */
  generator?: Generator;
  /** The over-optimization monitor (src/train/monitor.ts): held-out prompts, signals, best/. */
  monitor?: MonitorSetup;
}

/**
 * Trains `policy` (the starting policy, also the reference) in place. With cfg.resume and a run saved in
 * cfg.outDir, the trained weights (or LoRA adapters), optimizer and step come from there.
 */
export async function trainOnlineDPO(
  policy: CausalLM,
  tok: Tokenizer,
  prompts: (PromptRow | string)[],
  reward: RewardLike,
  cfg: OnlineDPOConfig,
  log: (m: string) => void,
  inputs: OnlineDPOInputs = {},
): Promise<OnlineDPOResult> {
  onlineDPOOptions.validate(cfg);
  const rewards = asRewardSet(reward);
  if (prompts.length === 0) throw new Error('online DPO needs prompts');
  const rows = promptRowsOf(prompts);
  applyLora(policy, cfg, log);
  const ref = frozenReference(policy, tok);
  const saveModel = (dir: string) =>
    savePolicy(dir, policy, tok, { trainer: 'online-dpo', beta: cfg.beta, loss: cfg.loss }, cfg.chatTemplate);
  // The loop's state tells where a resumed run continues; the monitor starts before its weights go back in.
  const steps = cfg.steps || Math.max(1, Math.ceil((cfg.epochs * rows.length) / cfg.batchSize));
  const run = new TrainingRun(
    trainableParams(policy),
    { ...cfg, steps, evalEvery: 0 },
    { outDir: cfg.outDir, resume: cfg.resume },
  );
  const monitor = inputs.monitor
    ? await Monitor.create(
        inputs.monitor,
        {
          trainer: 'online-dpo',
          unit: 'step',
          policy,
          tok,
          proxy: rewards,
          outDir: cfg.outDir,
          seed: cfg.seed,
          maxNewTokens: cfg.maxNewTokens,
          stop: cfg.stop,
          chatTemplate: cfg.chatTemplate,
          reference: ref,
          save: saveModel,
          log,
        },
        run.start,
      )
    : null;
  if (cfg.resume && !resumePolicy(policy, cfg.outDir))
    log(`online-dpo: no run to resume in ${cfg.outDir}; starting one`);
  policy.gradientCheckpointing = cfg.gradientCheckpointing;
  const ctx = Math.min(cfg.maxLength, policy.config.nPositions);
  const gen: Generator = inputs.generator ?? new LocalGenerator(policy, tok, { batchSize: 64 });
  const order = new EpochOrder(rows.length, cfg.seed);
  const replica = { models: { policy }, heads: {} };
  const end = Math.min(steps, cfg.stopAfter ?? Infinity);
  log(
    `online-dpo: ${rows.length} prompts; ${steps} steps of ${cfg.batchSize} prompts × 2 samples from ${gen.name}; ` +
      `β = ${cfg.beta}, loss ${cfg.loss}; rewards ${rewards.names.join(', ')}`,
  );
  const result: OnlineDPOResult = {
    steps: end,
    startStep: run.start,
    firstLoss: NaN,
    finalLoss: NaN,
    scores: [],
    seconds: { generation: 0, logprobs: 0, training: 0 },
  };
  const samplesPath = join(cfg.outDir, 'samples.jsonl');
  if (run.start === 0 && cfg.samplesEvery > 0) writeFileSync(samplesPath, '');
  const bar = progress('online-dpo', steps, { quiet: cfg.quiet });
  const save = (step: number) => {
    saveModel(cfg.outDir);
    run.saveState(step);
  };
  const clock = () => performance.now() / 1000;
  let stopped = false;
  try {
    if (monitor && run.start === 0) run.log({ step: 0, ...(await monitor.observe(0)).metrics });
    for (let step = run.start; step < end; step++) {
      // ---- two samples of each prompt, from the policy as it is now ----
      let t0 = clock();
      if (gen.syncPolicy && !(await gen.syncPolicy(policy)))
        throw new Error(
          `${gen.name} cannot take the policy's weights, so it would sample a stale model; online DPO samples ` +
            'the current policy every step: serve it with `rlhf serve-model --model DIR --accept-weights`, or ' +
            'sample here (no --generator)',
        );
      const batch = order.batch(step, cfg.batchSize).map((i) => rows[i]);
      const s = await samplePairs(gen, policy, tok, batch, rewards, cfg, step, cfg.chatTemplate);
      const scores = s.scores.map((x, i) => (s.finished[i] ? x : x - cfg.missingEosPenalty));
      result.seconds.generation += clock() - t0;

      // ---- the reference's log-probs, then the DPO loss on the chosen and rejected samples ----
      t0 = clock();
      const refTokens = ref.logProbs(s.pairs.map((p) => fitPair(p, ctx)));
      const { chosenIdx, pairs } = choosePairs(s, scores, ctx, refTokens, cfg.loss);
      result.seconds.logprobs += clock() - t0;
      t0 = clock();
      run.opt.zeroGrad();
      const sh = dpoShards(pairs, cfg, tok.eosId, tok.vocabSize);
      const res = runSharded(replica, kernels.dpoStep, sh);
      const { loss, metrics } = combineShards(res, sh);
      if (!Number.isFinite(loss))
        throw new Error(`training diverged at step ${step}: loss is ${loss}. HINT: lower --lr (now ${cfg.lr})`);
      const { lr, gradNorm } = run.update(step);
      result.seconds.training += clock() - t0;

      // ---- metrics, from the policy's log-probs of each sample before this step's update ----
      // Each shard's are its chosen sides, then its rejected sides; IPO's are per-token means, made sums again.
      const chosenLp = res.flatMap((r) => r.logps.slice(0, r.logps.length / 2)),
        rejectedLp = res.flatMap((r) => r.logps.slice(r.logps.length / 2));
      const policySums = new Array<number>(s.pairs.length);
      pairs.forEach((pair, p) => {
        const c = chosenIdx[p];
        const asSum = (lp: number, n: number) => (cfg.loss === 'ipo' ? lp * n : lp);
        policySums[c] = asSum(chosenLp[p], pair.chosen.completion.length);
        policySums[c % 2 === 0 ? c + 1 : c - 1] = asSum(rejectedLp[p], pair.rejected.completion.length);
      });
      const refSums = refTokens.map((lp) => lp.reduce((a, b) => a + b, 0));
      const record: Record<string, number> = {
        step: step + 1,
        'train/loss': loss,
        'train/lr': lr,
        'train/grad_norm': gradNorm,
        ...metrics,
        ...onlineDPOMetrics(s, scores, chosenIdx, policySums, refSums, cfg.beta),
        beta: cfg.beta,
      };
      const watched: MonitorObservation | null = monitor?.due(step + 1, step + 1 === steps)
        ? await monitor.observe(step + 1)
        : null;
      Object.assign(record, watched?.metrics);
      run.log(record);
      if (cfg.samplesEvery > 0 && (step + 1) % cfg.samplesEvery === 0)
        appendFileSync(samplesPath, pairSamplesJSONL(s, scores, chosenIdx, step + 1));
      if (Number.isNaN(result.firstLoss)) result.firstLoss = loss;
      result.finalLoss = loss;
      result.scores.push(record['objective/scores']);
      stopped = watched?.stop ?? false;
      if ((cfg.saveEvery > 0 && (step + 1) % cfg.saveEvery === 0) || step + 1 === end || stopped) save(step + 1);
      bar.update(step + 1, { loss, score: record['objective/scores'] });
      if (stopped) {
        result.steps = step + 1;
        break;
      }
    }
  } finally {
    bar.stop();
    run.close();
  }
  if (monitor) result.monitor = monitor.finish(stopped || end === steps);
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
