// KTO (Ethayarajh et al., 2024): preference optimization on unpaired feedback, each completion marked
// desirable or undesirable, with no pairs. On the sequence log-probs of B completions, with the log-ratio
// r(y) = log π(y|x) − log π_ref(y|x) and the reference point z0:
//   desirable:    L = λ_D·(1 − σ(β·(r − z0)))
//   undesirable:  L = λ_U·(1 − σ(β·(z0 − r)))
// averaged over the B completions (TRL's loss_type "kto", its eq. 7). z0 estimates KL(π‖π_ref) from the
// batch: the mean of log π(y'|x) − log π_ref(y'|x) over mismatched pairs (each prompt with another row's
// completion), clamped at 0 and detached (TRL computes it under no_grad), so it moves no gradient.
// APO-zero unpaired (D'Oosterlinck et al., 2024; TRL's "apo_zero_unpaired") has no reference point:
//   desirable 1 − σ(β·r),  undesirable σ(β·r) = 1 − σ(−β·r).
// NOTE: z0 and r are in nats; β multiplies both (the implicit reward is β·r, so β·z0 is its reference).

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import { assertLength } from './masked.js';

export const KTO_LOSS_TYPES = ['kto', 'apo_zero_unpaired'] as const;
export type KTOLossType = (typeof KTO_LOSS_TYPES)[number];

export interface KTOOptions {
  /** Strength of the pull toward π_ref; default 0.1 (TRL's). */
  beta?: number;
  /** λ_D, the weight of each desirable completion's loss; default 1. */
  desirableWeight?: number;
  /** λ_U, the weight of each undesirable completion's loss; default 1. */
  undesirableWeight?: number;
  /** Default 'kto'. */
  lossType?: KTOLossType;
}

/** What TRL's KTO logs, each a mean over the batch's completions of one class (absent when it has none). */
export interface KTOMetrics {
  /** The reference point z0 (nats). */
  kl: number;
  /** mean β·r over desirable completions. */
  'rewards/chosen'?: number;
  /** mean β·r over undesirable completions. */
  'rewards/rejected'?: number;
  /** rewards/chosen − rewards/rejected, when the batch has both. */
  'rewards/margins'?: number;
  /** mean log π(y|x) over desirable completions. */
  'logps/chosen'?: number;
  'logps/rejected'?: number;
}

function settings(o: KTOOptions) {
  const { beta = 0.1, desirableWeight = 1, undesirableWeight = 1, lossType = 'kto' } = o;
  if (!(beta > 0)) throw new Error(`ktoLoss: beta must be > 0, got ${beta}`);
  for (const [k, w] of [
    ['desirableWeight', desirableWeight],
    ['undesirableWeight', undesirableWeight],
  ] as const)
    if (!(w >= 0 && Number.isFinite(w))) throw new Error(`ktoLoss: ${k} must be a finite number ≥ 0, got ${w}`);
  if (!KTO_LOSS_TYPES.includes(lossType))
    throw new Error(`ktoLoss: lossType must be one of ${KTO_LOSS_TYPES.join(', ')}, got ${lossType}`);
  return { beta, desirableWeight, undesirableWeight, lossType };
}

/**
 * z0 = max(0, mean_i (policyKL_i − refKL_i)): the batch's estimate of KL(π‖π_ref), a plain number (no
 * gradient). policyKL, refKL: (B) sequence log-probs of the mismatched pairs under the policy and π_ref.
 */
export function ktoReferencePoint(policyKL: ArrayLike<number>, refKL: ArrayLike<number>): number {
  const B = policyKL.length;
  if (B === 0) throw new Error('ktoReferencePoint: no mismatched pairs');
  assertLength('ktoReferencePoint', 'refKL', refKL, B);
  let s = 0;
  for (let i = 0; i < B; i++) s += policyKL[i] - refKL[i];
  return Math.max(0, s / B);
}

/**
 * The mismatched pairs of a batch of B ≥ 2 rows, as the KTO paper and TRL form them: row i's prompt with
 * row i−1's completion (row 0 with row B−1's). Returns, for each row, the row whose completion it takes.
 */
export function mismatchedPartners(B: number): number[] {
  if (!(Number.isInteger(B) && B >= 2))
    throw new Error(`mismatchedPartners: the KL estimate needs at least 2 rows in a batch, got ${B}`);
  return Array.from({ length: B }, (_, i) => (i + B - 1) % B);
}

/** Each row's sign s and weight: desirable +1 and λ_D, undesirable −1 and λ_U. */
function signsAndWeights(desirable: ArrayLike<boolean>, dw: number, uw: number) {
  const B = desirable.length;
  const signs = new Float32Array(B),
    weights = new Float32Array(B);
  for (let i = 0; i < B; i++) {
    signs[i] = desirable[i] ? 1 : -1;
    weights[i] = desirable[i] ? dw : uw;
  }
  return { signs, weights };
}

/**
 * policy: (B) sequence log-probs under the policy, with gradients; ref: (B) the same under π_ref;
 * desirable: (B) each completion's label; z0: the reference point (ktoReferencePoint; ignored by
 * apo_zero_unpaired). Returns the mean loss over the B completions: with u = s·β·(r − z0),
 * L = (1/B)·Σ λ_i·(1 − σ(u_i)).
 */
export function ktoLoss(
  g: Graph,
  policy: Tensor,
  ref: ArrayLike<number>,
  desirable: ArrayLike<boolean>,
  z0: number,
  o: KTOOptions = {},
): Tensor {
  const B = policy.size;
  if (B === 0) throw new Error('ktoLoss: no completions');
  assertLength('ktoLoss', 'ref', ref, B);
  assertLength('ktoLoss', 'desirable', Array.from(desirable, Number), B);
  if (!(z0 >= 0 && Number.isFinite(z0))) throw new Error(`ktoLoss: z0 must be a finite number ≥ 0, got ${z0}`);
  const { beta, desirableWeight, undesirableWeight, lossType } = settings(o);
  const shift = lossType === 'kto' ? z0 : 0;
  const { signs, weights } = signsAndWeights(desirable, desirableWeight, undesirableWeight);
  const offset = Float32Array.from(ref, (x) => x + shift);
  // u = β·s·(log π − (log π_ref + z0))   (B)
  const u = ops.mul(g, ops.affine(g, ops.sub(g, policy, new Tensor(offset, [B])), beta), new Tensor(signs, [B]));
  // (1/B)·Σ λ_i·(1 − σ(u_i)) = Σ λ_i/B − Σ (λ_i/B)·σ(u_i)
  const total = weights.reduce((a, w) => a + w, 0) / B;
  return ops.affine(
    g,
    ops.dot(
      g,
      ops.sigmoid(g, u),
      weights.map((w) => -w / B),
    ),
    1,
    total,
  );
}

/** TRL's KTO metrics of a batch, from plain sequence log-probs (β·r for the rewards). */
export function ktoMetrics(
  policy: ArrayLike<number>,
  ref: ArrayLike<number>,
  desirable: ArrayLike<boolean>,
  z0: number,
  beta: number,
): KTOMetrics {
  const B = policy.length;
  assertLength('ktoMetrics', 'ref', ref, B);
  const sum = { chosen: 0, rejected: 0, lpChosen: 0, lpRejected: 0, nChosen: 0, nRejected: 0 };
  for (let i = 0; i < B; i++) {
    const reward = beta * (policy[i] - ref[i]);
    if (desirable[i]) {
      sum.chosen += reward;
      sum.lpChosen += policy[i];
      sum.nChosen++;
    } else {
      sum.rejected += reward;
      sum.lpRejected += policy[i];
      sum.nRejected++;
    }
  }
  const m: KTOMetrics = { kl: z0 };
  if (sum.nChosen) {
    m['rewards/chosen'] = sum.chosen / sum.nChosen;
    m['logps/chosen'] = sum.lpChosen / sum.nChosen;
  }
  if (sum.nRejected) {
    m['rewards/rejected'] = sum.rejected / sum.nRejected;
    m['logps/rejected'] = sum.lpRejected / sum.nRejected;
  }
  if (sum.nChosen && sum.nRejected) m['rewards/margins'] = m['rewards/chosen']! - m['rewards/rejected']!;
  return m;
}

// ---- a plain-number reference with its hand-derived gradient (tests) ----

/** L and dL/d log π_i = −λ_i·s_i·β·σ(u_i)·(1 − σ(u_i))/B. */
export function kto(
  policy: number[],
  ref: number[],
  desirable: boolean[],
  z0: number,
  o: KTOOptions = {},
): { loss: number; grad: number[] } {
  const { beta, desirableWeight, undesirableWeight, lossType } = settings(o);
  const B = policy.length;
  const shift = lossType === 'kto' ? z0 : 0;
  let loss = 0;
  const grad = policy.map((x, i) => {
    const s = desirable[i] ? 1 : -1,
      w = desirable[i] ? desirableWeight : undesirableWeight;
    const sig = 1 / (1 + Math.exp(-s * beta * (x - ref[i] - shift)));
    loss += (w * (1 - sig)) / B;
    return (-w * s * beta * sig * (1 - sig)) / B;
  });
  return { loss, grad };
}
