// Step functions that run on every thread of data-parallel training (engine/parallel.ts). Each
// takes a replica and its shard of the batch, runs forward and backward into the replica's
// gradients, and returns plain numbers.

import { evenSplit } from '../engine/split.js';
import { Graph } from '../engine/graph.js';
import { defineKernel } from '../engine/parallel.js';
import { add, affine, reshape, selectRows } from '../engine/ops/elementwise.js';
import { Tensor } from '../engine/tensor.js';
import { ppoPolicyLoss, ppoValueLoss } from '../objectives/ppo.js';
import { tokenMean } from '../objectives/masked.js';
import { headLogProbs, headLogProbsAndEntropy } from '../model/lm-head.js';
import { TokenPair, completionBatch } from '../model/logprobs.js';
import { PreferenceMetrics, dpoLoss, ipoLoss } from '../objectives/dpo.js';
import { sequenceLogProbs } from '../objectives/sequence-logprobs.js';
import { Replica } from '../runtime/replica.js';
import { SeqBatch, rewardsOf } from '../model/reward-model.js';
import { bradleyTerryLoss } from '../objectives/bradley-terry.js';

export interface LMShard {
  ids: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  /** Share of the whole batch's loss-bearing tokens (or of their weights) in this shard (scales its gradient). */
  weight: number;
  /** Per-token loss weights, for weighted fine-tuning. */
  tokenWeights?: Float32Array;
}

/** Next-token cross-entropy of the 'policy' model on one shard. Returns the shard's mean loss. */
export function lmStep(r: Replica, s: LMShard): number {
  const g = new Graph();
  const loss = r.models.policy.loss(g, s.ids, s.targets, s.B, s.T, s.tokenWeights);
  g.backward(loss, s.weight);
  const v = loss.item();
  g.dispose();
  return v;
}

/**
 * Splits a (B, T) token batch by rows into up to n shards weighted by their loss-bearing tokens
 * (or by the sum of their token weights, when given).
 */
export function shardLM(
  ids: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
  n: number,
  tokenWeights?: Float32Array,
): LMShard[] {
  const parts = Math.max(1, Math.min(n, B));
  const mass = (from: number, to: number) => {
    let m = 0;
    for (let i = from; i < to; i++) if (targets[i] >= 0) m += tokenWeights ? tokenWeights[i] : 1;
    return m;
  };
  const total = mass(0, targets.length);
  const shards: LMShard[] = [];
  for (const [b0, b1] of evenSplit(B, parts)) {
    shards.push({
      ids: ids.slice(b0 * T, b1 * T),
      targets: targets.slice(b0 * T, b1 * T),
      B: b1 - b0,
      T,
      weight: total > 0 ? mass(b0 * T, b1 * T) / total : 0,
      tokenWeights: tokenWeights?.slice(b0 * T, b1 * T),
    });
  }
  return shards;
}

// ---- reward model: Bradley-Terry over the pairs of a batch of comparisons ----

export interface RewardShard {
  batch: SeqBatch;
  /** Sequence index of the better and the worse completion of each pair. */
  chosen: Int32Array;
  rejected: Int32Array;
  margins: Float32Array | null;
  /** Each pair's weight: 1/C(K,2) for the pairs of a K-ranking, so every comparison counts once. */
  pairWeights: Float32Array;
  centering: number;
  /** This shard's share of the batch's comparisons (scales its gradient). */
  weight: number;
}

export interface RewardStepResult {
  loss: number;
  chosen: number[];
  rejected: number[];
}

export function rewardStep(r: Replica, s: RewardShard): RewardStepResult {
  const g = new Graph();
  const rewards = rewardsOf(g, r.models.reward, r.heads.score, s.batch);
  const col = reshape(g, rewards, [rewards.size, 1]);
  const rc = reshape(g, selectRows(g, col, s.chosen), [s.chosen.length]);
  const rr = reshape(g, selectRows(g, col, s.rejected), [s.rejected.length]);
  const loss = bradleyTerryLoss(g, rc, rr, {
    margins: s.margins ?? undefined,
    weights: s.pairWeights,
    centering: s.centering,
  });
  g.backward(loss, s.weight);
  const out = { loss: loss.item(), chosen: Array.from(rc.data), rejected: Array.from(rr.data) };
  g.dispose();
  return out;
}

// ---- DPO / IPO: preference optimization on sequence log-probs ----

export interface DPOShard {
  /** 2P sequences: the P chosen completions, then the P rejected ones. */
  pairs: TokenPair[];
  padId: number;
  /** The tokenizer's vocabulary size: ids at or above it get no probability. */
  vocabSize: number;
  refChosen: number[];
  refRejected: number[];
  beta: number;
  loss: 'sigmoid' | 'ipo';
  labelSmoothing: number;
  /** This shard's share of the batch's pairs. */
  weight: number;
}

export interface DPOStepResult {
  loss: number;
  metrics: PreferenceMetrics;
  /** (2P) the policy's sequence log-probs as the loss takes them (sums; per-token means for IPO), chosen first. */
  logps: number[];
}

export function dpoStep(r: Replica, s: DPOShard, train = true): DPOStepResult {
  const g = train ? new Graph() : Graph.inference();
  const { ids, targets, B, T } = completionBatch(s.pairs, s.padId);
  // The policy's distribution over the tokenizer's vocabulary, as it samples (padded ids get no mass).
  const policy = r.models.policy;
  const lp = headLogProbs(g, policy, policy.hidden(g, ids, B, T), targets, { temperature: 1, vocabSize: s.vocabSize });
  const mask = Float32Array.from(targets, (t) => (t >= 0 ? 1 : 0));
  const seq = reshape(g, sequenceLogProbs(g, lp, mask, B, T, { average: s.loss === 'ipo' }), [B, 1]);
  const P = B / 2;
  const pc = reshape(
    g,
    selectRows(
      g,
      seq,
      Array.from({ length: P }, (_, i) => i),
    ),
    [P],
  );
  const pr = reshape(
    g,
    selectRows(
      g,
      seq,
      Array.from({ length: P }, (_, i) => P + i),
    ),
    [P],
  );
  const o = { beta: s.beta, labelSmoothing: s.labelSmoothing };
  const { loss, metrics } =
    s.loss === 'ipo'
      ? ipoLoss(g, pc, pr, s.refChosen, s.refRejected, o)
      : dpoLoss(g, pc, pr, s.refChosen, s.refRejected, o);
  if (train) g.backward(loss, s.weight);
  const out = { loss: loss.item(), metrics, logps: Array.from(seq.data) };
  g.dispose();
  return out;
}

// ---- PPO: the policy and its value head on rollouts ----

/**
 * Rollouts on a (P, Tc) grid of completion tokens; row p's token j sits at p·Tc + j. Log-probs are
 * those of the distribution sampled from: softmax(logits / temperature) over the tokenizer's ids.
 */
export interface RolloutShard {
  pairs: TokenPair[];
  padId: number;
  Tc: number;
  temperature: number;
  /** The tokenizer's vocabulary: ids at or above it were never sampled and get no probability. */
  vocabSize: number;
}

export interface PPOShard extends RolloutShard {
  oldLogp: Float32Array;
  oldValues: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
  mask: Float32Array;
  clipRange: number;
  clipRangeValue: number;
  vfCoef: number;
  entCoef: number;
  weight: number;
}

/** Rows of the (B·T) sequence grid that hold each completion token, laid out on the (P, Tc) grid. */
export function completionRows(pairs: TokenPair[], T: number, Tc: number): number[] {
  const idx = new Array<number>(pairs.length * Tc).fill(0);
  pairs.forEach((p, b) => {
    for (let j = 0; j < p.completion.length; j++) idx[b * Tc + j] = b * T + p.prompt.length - 1 + j;
  });
  return idx;
}

/**
 * Per-token log-probs of the completions on the (P, Tc) grid, and the value head's predictions when
 * the replica has one (rollout time, no gradients). The reference runs it too, as its own replica.
 */
export function rolloutShard(r: Replica, s: RolloutShard): { logp: number[]; values: number[] | null } {
  const g = Graph.inference();
  const { ids, targets, B, T } = completionBatch(s.pairs, s.padId);
  const model = r.models.policy;
  const h = model.hidden(g, ids, B, T);
  const lp = headLogProbs(g, model, h, targets, s);
  const v = r.heads.value ? r.heads.value.forward(g, h) : null;
  const rows = completionRows(s.pairs, T, s.Tc);
  const out = { logp: rows.map((i) => lp.data[i]), values: v ? rows.map((i) => v.data[i]) : null };
  g.dispose();
  return out;
}

export function ppoStep(r: Replica, s: PPOShard): Record<string, number> {
  const g = new Graph();
  const { ids, targets, B, T } = completionBatch(s.pairs, s.padId);
  const h = r.models.policy.hidden(g, ids, B, T);
  // Entropy in the same pass over the head (computed on the rows with a target, the mask below).
  const head = headLogProbsAndEntropy(g, r.models.policy, h, targets, s);
  const rows = completionRows(s.pairs, T, s.Tc);
  const grid = (x: Tensor) => reshape(g, selectRows(g, reshape(g, x, [x.size, 1]), rows), [rows.length]);
  const logp = grid(head.logp);
  const values = grid(r.heads.value.forward(g, h));
  const pol = ppoPolicyLoss(g, logp, s.oldLogp, s.advantages, s.mask, s.clipRange);
  const val = ppoValueLoss(g, values, s.oldValues, s.returns, s.mask, s.clipRangeValue);
  const ent = tokenMean(
    g,
    head.entropy,
    Float32Array.from(targets, (t) => (t >= 0 ? 1 : 0)),
  );
  let loss = add(g, pol.loss, affine(g, val.loss, s.vfCoef));
  if (s.entCoef) loss = add(g, loss, affine(g, ent, -s.entCoef));
  g.backward(loss, s.weight);
  const out = {
    'ppo/loss/total': loss.item(),
    'ppo/loss/policy': pol.loss.item(),
    'ppo/loss/value': val.loss.item(),
    // The mean entropy of the next-token distributions (TRL's name; objective/entropy is another thing).
    'policy/entropy_avg': ent.item(),
    ...pol.stats,
    ...val.stats,
  };
  g.dispose();
  return out;
}

/** Typed handles on this file's step functions, for runSharded. */
export const kernels = {
  lmStep: defineKernel(import.meta.url, { lmStep }),
  rewardStep: defineKernel(import.meta.url, { rewardStep }),
  dpoStep: defineKernel(import.meta.url, { dpoStep }),
  rolloutShard: defineKernel(import.meta.url, { rolloutShard }),
  ppoStep: defineKernel(import.meta.url, { ppoStep }),
};
