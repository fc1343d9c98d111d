// KTO's step function, run on every thread of data-parallel training (engine/parallel.ts): the policy's
// sequence log-probs of its shard of the batch's rows, the KTO loss against the reference's, backward.

import { Graph } from '../engine/graph.js';
import { defineKernel } from '../engine/parallel.js';
import { headLogProbs } from '../model/lm-head.js';
import { type TokenPair, completionBatch } from '../model/logprobs.js';
import { type KTOLossType, ktoLoss } from '../objectives/kto.js';
import { sequenceLogProbs } from '../objectives/sequence-logprobs.js';
import type { Replica } from '../runtime/replica.js';

export interface KTOShard {
  /** (n) this shard's rows: prompt and completion ids. */
  pairs: TokenPair[];
  padId: number;
  /** The tokenizer's vocabulary size: ids at or above it get no probability. */
  vocabSize: number;
  /** (n) the rows' sequence log-probs under the reference. */
  ref: number[];
  /** (n) each row's label. */
  desirable: boolean[];
  /** The batch's reference point (the whole batch's, not this shard's). */
  z0: number;
  beta: number;
  desirableWeight: number;
  undesirableWeight: number;
  lossType: KTOLossType;
  /** This shard's share of the batch's rows (scales its gradient). */
  weight: number;
}

export interface KTOStepResult {
  /** The mean loss over this shard's rows. */
  loss: number;
  /** (n) the rows' sequence log-probs under the policy. */
  logps: number[];
}

export function ktoStep(r: Replica, s: KTOShard, train = true): KTOStepResult {
  const g = train ? new Graph() : Graph.inference();
  const { ids, targets, B, T } = completionBatch(s.pairs, s.padId);
  const policy = r.models.policy;
  // The policy's distribution over the tokenizer's vocabulary, as it samples (padded ids get no mass).
  const lp = headLogProbs(g, policy, policy.hidden(g, ids, B, T), targets, { temperature: 1, vocabSize: s.vocabSize });
  const mask = Float32Array.from(targets, (t) => (t >= 0 ? 1 : 0));
  const seq = sequenceLogProbs(g, lp, mask, B, T);
  const loss = ktoLoss(g, seq, s.ref, s.desirable, s.z0, s);
  if (train) g.backward(loss, s.weight);
  const out = { loss: loss.item(), logps: Array.from(seq.data) };
  g.dispose();
  return out;
}

/** The typed handle for runSharded. */
export const ktoKernel = defineKernel(import.meta.url, { ktoStep });
