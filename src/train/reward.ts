// Reward-model training: Bradley-Terry on comparisons (pairs, or rankings of K as all K(K−1)/2
// pairs), evaluation with accuracy on the eval and hard splits and a calibration table, and the
// bias that centers rewards on a reference set.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RNG } from '../engine/rng.js';
import { EpochOrder } from '../data/batching.js';
import { splitEvenly } from '../engine/split.js';
import { Comparison, rankingPairs, splitKey } from '../data/comparison.js';
import { EncodedComparisons } from '../data/encoded-comparisons.js';
import { isEvalKey } from '../data/split.js';
import { hasTrainingState, loadCheckpoint } from '../model/checkpoint.js';
import { countParameters, paddedVocabSize, presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { runSharded, shardCount } from '../runtime/replica.js';
import { rewardReplica, scoreRewardTokens } from '../runtime/reward.js';
import { RewardModel, padSequences } from '../model/reward-model.js';
import { saveChatTemplate } from '../model/chat-template-file.js';
import type { ChatTemplate } from '../model/chat-template.js';
import { EOS_TOKEN, Tokenizer } from '../model/tokenizer/index.js';
import { BaselinePair, bagOfWordsBaseline, lengthBaseline } from '../eval/baselines.js';
import { bradleyTerry } from '../objectives/bradley-terry.js';
import { RewardShard, RewardStepResult, kernels } from './kernels.js';
import { LoopSummary, TrainTask, runTraining } from './loop.js';
import { RewardConfig, validateRewardConfig } from './reward-config.js';
import { applyLora, loraNeedsInit, resumeLora } from './lora-options.js';

export { rankingPairs };

/** One shard's training payload: the shard's comparisons, of `total` in the whole batch. */
function shardOf(enc: EncodedComparisons, idx: number[], total: number, cfg: RewardConfig, padId: number): RewardShard {
  const sel = enc.select(idx);
  return {
    batch: padSequences(sel.seqs, padId),
    chosen: sel.better,
    rejected: sel.worse,
    margins: cfg.useMargin ? sel.margins : null,
    pairWeights: sel.pairWeights,
    centering: cfg.centering,
    weight: idx.length / total,
  };
}

// ---- evaluation ----

export interface RewardMetrics {
  pairs: number;
  accuracy: number;
  loss: number;
  reward_mean: number;
  reward_min: number;
  reward_max: number;
  /** Mean of r_chosen − r_rejected. */
  margin: number;
}

export interface CalibrationBucket {
  /** Predicted probability range [lo, hi) that the first of a randomly oriented pair wins. */
  lo: number;
  hi: number;
  pairs: number;
  predicted: number;
  observed: number;
}

export interface PairScores {
  chosen: number[];
  rejected: number[];
  hard: boolean[];
}

/**
 * Scores every pair of every comparison (each completion scored once). Comparisons are encoded and
 * scored a few hundred completions at a time, so memory does not grow with the number of comparisons.
 */
export function scorePairs(rm: RewardModel, comps: Comparison[], chunk = 256): PairScores {
  const out: PairScores = { chosen: [], rejected: [], hard: [] };
  for (let i = 0; i < comps.length; ) {
    let j = i,
      seqs = 0;
    while (j < comps.length && (j === i || seqs + comps[j].completions.length <= chunk))
      seqs += comps[j++].completions.length;
    const part = comps.slice(i, j);
    const r = scoreRewardTokens(
      rm,
      part.flatMap((c) =>
        c.completions.map((x, k) =>
          rm.encode(c.prompt, x, c.chat && { prompt: c.chat.prompt, completion: c.chat.completions[k] }),
        ),
      ),
    );
    let k = 0;
    for (const c of part) {
      for (const [w, l] of rankingPairs(c.ranking)) {
        out.chosen.push(r[k + w]);
        out.rejected.push(r[k + l]);
        out.hard.push(c.hard === true);
      }
      k += c.completions.length;
    }
    i = j;
  }
  return out;
}

export function pairMetrics(chosen: number[], rejected: number[]): RewardMetrics {
  const P = chosen.length;
  if (P === 0)
    return { pairs: 0, accuracy: NaN, loss: NaN, reward_mean: NaN, reward_min: NaN, reward_max: NaN, margin: NaN };
  let correct = 0,
    sum = 0,
    min = Infinity,
    max = -Infinity,
    gap = 0;
  for (let i = 0; i < P; i++) {
    // NOTE: a tie counts as half right, so a constant model scores exactly 50%.
    correct += chosen[i] > rejected[i] ? 1 : chosen[i] === rejected[i] ? 0.5 : 0;
    for (const v of [chosen[i], rejected[i]]) {
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    gap += chosen[i] - rejected[i];
  }
  return {
    pairs: P,
    accuracy: correct / P,
    loss: bradleyTerry(chosen, rejected).loss,
    reward_mean: sum / (2 * P),
    reward_min: min,
    reward_max: max,
    margin: gap / P,
  };
}

/**
 * Calibration: each pair is oriented at random (seeded); the model's predicted probability that the
 * first wins, σ(r_first − r_second), is bucketed and compared with how often the first did win.
 */
export function calibration(chosen: number[], rejected: number[], buckets = 10, seed = 0): CalibrationBucket[] {
  const rng = new RNG(seed);
  const acc = Array.from({ length: buckets }, (_, b) => ({
    lo: b / buckets,
    hi: (b + 1) / buckets,
    pairs: 0,
    predicted: 0,
    observed: 0,
  }));
  for (let i = 0; i < chosen.length; i++) {
    const flip = rng.uniform() < 0.5;
    const d = flip ? rejected[i] - chosen[i] : chosen[i] - rejected[i];
    const p = 1 / (1 + Math.exp(-d));
    const b = acc[Math.min(buckets - 1, Math.floor(p * buckets))];
    b.pairs++;
    b.predicted += p;
    b.observed += flip ? 0 : 1;
  }
  return acc
    .filter((b) => b.pairs > 0)
    .map((b) => ({ ...b, predicted: b.predicted / b.pairs, observed: b.observed / b.pairs }));
}

// ---- training ----

export interface RewardResult extends LoopSummary {
  parameters: number;
  train: RewardMetrics;
  eval: RewardMetrics | null;
  hard: RewardMetrics | null;
  calibration: CalibrationBucket[];
  bias: number;
  trainComparisons: number;
  evalComparisons: number;
  /** Peak resident memory of the process so far (MB), at the end of training and evaluation. */
  peak_rss_mb: number;
  /** The same eval pairs judged by surface features: what the accuracy above has to beat. */
  baselines: {
    length: { eval: number; hard: number | null };
    bag_of_words: { eval: number; hard: number | null };
  } | null;
}

/** Baseline pairs of comparisons (completions encoded with the reward model's tokenizer). */
function baselinePairs(rm: RewardModel, comps: Comparison[]): (BaselinePair & { hard: boolean })[] {
  return comps.flatMap((c) => {
    const ids = c.completions.map((t) => rm.tokenizer.encode(t));
    return rankingPairs(c.ranking).map(([w, l]) => ({
      chosen: ids[w],
      rejected: ids[l],
      chosenText: c.completions[w],
      rejectedText: c.completions[l],
      hard: c.hard === true,
    }));
  });
}

function baselines(rm: RewardModel, train: Comparison[], evalSet: Comparison[]): RewardResult['baselines'] {
  if (evalSet.length === 0) return null;
  const tr = baselinePairs(rm, train.slice(0, 20000)),
    ev = baselinePairs(rm, evalSet);
  const hard = ev.filter((p) => p.hard);
  const V = rm.model.config.vocabSize;
  return {
    length: { eval: lengthBaseline(ev), hard: hard.length ? lengthBaseline(hard) : null },
    bag_of_words: { eval: bagOfWordsBaseline(tr, ev, V), hard: hard.length ? bagOfWordsBaseline(tr, hard, V) : null },
  };
}

/** The model and tokenizer to train: from a checkpoint, or new (tokenizer trained on the texts). */
function makeRewardModel(cfg: RewardConfig, train: Comparison[], log: (m: string) => void): RewardModel {
  // A full run resumes from the weights it saved (a LoRA run puts its saved adapters back on --init's).
  if (cfg.resume && cfg.loraRank === 0 && hasTrainingState(cfg.outDir)) {
    log(`reward: resuming the model saved in ${cfg.outDir}`);
    return RewardModel.load(cfg.outDir);
  }
  if (cfg.init) {
    const ck = loadCheckpoint(cfg.init);
    if (ck.heads.has('score')) return RewardModel.fromCheckpoint(ck);
    if (!ck.tokenizer) throw new Error(`${cfg.init}: the checkpoint has no tokenizer.json`);
    return RewardModel.fromTrunk(
      ck.model,
      ck.tokenizer,
      Math.min(cfg.contextLength, ck.model.config.nPositions),
      cfg.seed,
    );
  }
  log(`training a ${cfg.vocabSize}-token BPE tokenizer on the training comparisons`);
  const texts = train.flatMap((c) => [c.prompt, ...c.completions]);
  // As in SFT: a chat template's markers become special tokens of the new tokenizer.
  const specialTokens = [...new Set([EOS_TOKEN, ...(cfg.chatTemplate?.markers() ?? [])])];
  const tok = Tokenizer.train(texts, { vocabSize: cfg.vocabSize, specialTokens });
  const base = presetConfig(cfg.preset);
  const model = createModel(
    presetConfig(cfg.preset, {
      vocabSize: paddedVocabSize(tok.vocabSize),
      eosTokenId: tok.eosId,
      nPositions: Math.max(cfg.contextLength, base.nPositions),
    }),
    cfg.seed,
  );
  return RewardModel.fromTrunk(model, tok, cfg.contextLength, cfg.seed);
}

/**
 * A reward model trained on conversational comparisons with a chat template reads chat-rendered pairs, now
 * and wherever it is loaded (RewardModel.encode, saved as "rlhf.rewardInput": "chat"); one trained on text, or
 * without a template, reads plain text as before.
 */
function useChatInput(
  rm: RewardModel,
  template: ChatTemplate | null,
  train: Comparison[],
  log: (m: string) => void,
): void {
  const chat = train.filter((c) => c.chat).length;
  rm.useChatTemplate(template && chat > 0 ? template : null);
  if (rm.chatTemplate && chat < train.length)
    log(
      `reward: ${train.length - chat} of ${train.length} training comparisons are text, not messages; a chat ` +
        `reward model reads each text prompt as the user's message and its completion as the answer`,
    );
}

export function trainRewardModel(
  trainSet: Comparison[],
  evalSet: Comparison[],
  cfg: RewardConfig,
  log: (m: string) => void = (m) => process.stderr.write(m + '\n'),
): { rm: RewardModel; result: RewardResult } {
  validateRewardConfig(cfg);
  if (trainSet.length === 0) throw new Error('no training comparisons');
  if (cfg.loraRank > 0 && !cfg.init) throw loraNeedsInit('--init');
  const rm = makeRewardModel(cfg, trainSet, log);
  // With LoRA the score head is trained whole, beside the adapters (PEFT's modules_to_save).
  applyLora(rm.model, cfg, log);
  if (cfg.resume) resumeLora(rm.model, cfg.outDir, [rm.head]);
  rm.model.gradientCheckpointing = cfg.gradientCheckpointing;
  const template = cfg.chatTemplate ?? rm.chatTemplate;
  useChatInput(rm, template, trainSet, log);
  const encoded = new EncodedComparisons(trainSet, rm.tokenizer.vocabSize, (p, c, chat) => rm.encode(p, c, chat));
  const save = (dir: string) => {
    rm.save(dir, { trainer: 'reward' });
    // A text reward model on a chat model's trunk keeps the trunk's template too (its tokenizer_config.json).
    if (template && !rm.chatTemplate) saveChatTemplate(dir, template);
  };
  const n = encoded.size;
  const steps = cfg.steps || Math.max(1, Math.ceil((cfg.epochs * n) / cfg.batchSize));
  const hardEval = evalSet.filter((c) => c.hard);
  log(
    `reward model: ${countParameters(rm.model.config).toLocaleString('en-US')} parameters; ${n} training ` +
      `comparisons (${(encoded.bytes / 1e6).toFixed(1)} MB of tokens), ${evalSet.length} ` +
      `eval${hardEval.length ? ` (${hardEval.length} hard)` : ''}; ${steps} steps of ${cfg.batchSize}`,
  );

  const order = new EpochOrder(n, cfg.seed);
  const evalSample = evalSet.slice(0, cfg.evalLimit);
  const task: TrainTask = {
    params: rm.params,
    step(_rng, step) {
      const items = order.batch(step, cfg.batchSize);
      const shards = splitEvenly(items, shardCount()).map((part) =>
        shardOf(encoded, part, items.length, cfg, rm.tokenizer.eosId),
      );
      const res: RewardStepResult[] = runSharded(rewardReplica(rm), kernels.rewardStep, shards);
      const chosen = res.flatMap((r) => r.chosen),
        rejected = res.flatMap((r) => r.rejected);
      const m = pairMetrics(chosen, rejected);
      return {
        loss: res.reduce((acc, r, k) => acc + r.loss * shards[k].weight, 0),
        tokens: shards.reduce((acc, s) => acc + s.batch.S * s.batch.T, 0),
        metrics: { 'reward/accuracy': m.accuracy, 'reward/margin': m.margin, 'reward/mean': m.reward_mean },
      };
    },
    evaluate: evalSample.length
      ? () => {
          const s = scorePairs(rm, evalSample);
          const m = pairMetrics(s.chosen, s.rejected);
          return { 'eval/reward/accuracy': m.accuracy, 'eval/loss': m.loss, 'eval/reward/margin': m.margin };
        }
      : undefined,
    save,
  };
  const summary = runTraining(
    task,
    { ...cfg, steps },
    { outDir: cfg.outDir, resume: cfg.resume, label: 'reward', quiet: cfg.quiet, stopAfter: cfg.stopAfter },
  );

  // Final evaluation on everything, then center the rewards on the reference set (the eval
  // completions, or the training ones without an eval set).
  const trainScores = scorePairs(rm, trainSet.slice(0, Math.max(cfg.evalLimit, 2000)));
  const evalScores = evalSet.length ? scorePairs(rm, evalSet) : null;
  const ref = evalScores ?? trainScores;
  const bias = [...ref.chosen, ...ref.rejected].reduce((a, b) => a + b, 0) / (2 * ref.chosen.length);
  rm.bias += bias;
  const shift = (xs: number[]) => xs.map((x) => x - bias);
  const ev = evalScores
    ? { chosen: shift(evalScores.chosen), rejected: shift(evalScores.rejected), hard: evalScores.hard }
    : null;
  const hardIdx = ev ? ev.hard.map((h, i) => (h ? i : -1)).filter((i) => i >= 0) : [];
  const result: RewardResult = {
    ...summary,
    parameters: countParameters(rm.model.config),
    train: pairMetrics(shift(trainScores.chosen), shift(trainScores.rejected)),
    eval: ev ? pairMetrics(ev.chosen, ev.rejected) : null,
    hard:
      ev && hardIdx.length
        ? pairMetrics(
            hardIdx.map((i) => ev.chosen[i]),
            hardIdx.map((i) => ev.rejected[i]),
          )
        : null,
    calibration: ev
      ? calibration(ev.chosen, ev.rejected)
      : calibration(shift(trainScores.chosen), shift(trainScores.rejected)),
    bias: rm.bias,
    trainComparisons: trainSet.length,
    evalComparisons: evalSet.length,
    baselines: baselines(rm, trainSet, evalSet),
    peak_rss_mb: 0,
  };
  result.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  save(cfg.outDir);
  writeFileSync(join(cfg.outDir, 'metrics.json'), JSON.stringify(result, null, 2) + '\n');
  return { rm, result };
}

/**
 * `--split-holdout`: the training comparisons in two disjoint parts by a hash of their split key (salted,
 * so the part is independent of the eval split's): `holdout` gets about `fraction` of them, for a second
 * reward model the proxy's training never sees (the over-optimization monitor's holdout_reward).
 */
export function splitHoldout(all: Comparison[], fraction: number): { proxy: Comparison[]; holdout: Comparison[] } {
  if (!(fraction > 0 && fraction < 1))
    throw new Error(`the holdout fraction (--split-holdout) must be in (0, 1), got ${fraction}`);
  const proxy: Comparison[] = [],
    holdout: Comparison[] = [];
  for (const c of all) (isEvalKey(`holdout\u0000${splitKey(c)}`, fraction) ? holdout : proxy).push(c);
  if (proxy.length === 0 || holdout.length === 0)
    throw new Error(
      `--split-holdout ${fraction} of ${all.length} training comparisons leaves ${proxy.length} for the reward ` +
        `model and ${holdout.length} for the holdout model; both need some (give more comparisons or another fraction)`,
    );
  return { proxy, holdout };
}

/**
 * Splits comparisons by a hash of their split key (the prompt, plus the bucket of scored pairs that
 * share one prompt) into train and eval, so no prompt (or scored text) is on both sides.
 */
export function splitComparisons(all: Comparison[], evalFraction: number): { train: Comparison[]; eval: Comparison[] } {
  const train: Comparison[] = [],
    ev: Comparison[] = [];
  for (const c of all) (isEvalKey(splitKey(c), evalFraction) ? ev : train).push(c);
  return { train, eval: ev };
}
