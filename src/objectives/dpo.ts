// Preference optimization without a reward model, on sequence log-probs of P pairs (y_w chosen,
// y_l rejected), with the implicit reward ρ(y) = β·(log π(y) − log π_ref(y)) and
//   h = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))
// DPO (Rafailov et al., 2023):  loss = −(1−ε)·log σ(β·h) − ε·log σ(−β·h)   (ε > 0: cDPO, label smoothing)
// IPO (Azar et al., 2023):      loss = (h − 1/(2β))²
// NOTE: for IPO pass per-token mean log-probs (sequenceLogProbs with average: true), as TRL does;
// with summed log-probs the target margin 1/(2β) is met by long completions far more easily.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';
import { assertLength } from './masked.js';

export interface DPOOptions {
  /** Strength of the KL regularization toward π_ref; default 0.1 (TRL's default). */
  beta?: number;
  /** DPO only: probability ε in [0, 0.5) that a label is flipped (conservative DPO); default 0. */
  labelSmoothing?: number;
}

/** Means over the P pairs, as TRL logs them. */
export interface PreferenceMetrics {
  /** mean β·(log π − log π_ref)(y_w). */
  'rewards/chosen': number;
  'rewards/rejected': number;
  /** Fraction of pairs whose chosen implicit reward is strictly larger. */
  'rewards/accuracies': number;
  /** mean of chosen − rejected implicit rewards. */
  'rewards/margins': number;
}

function check(
  op: string,
  P: number,
  policyRejected: Tensor,
  refChosen: ArrayLike<number>,
  refRejected: ArrayLike<number>,
  o: DPOOptions,
): { beta: number; eps: number } {
  const { beta = 0.1, labelSmoothing: eps = 0 } = o;
  if (policyRejected.size !== P) throw new Error(`${op}: ${P} chosen log-probs but ${policyRejected.size} rejected`);
  assertLength(op, 'refChosen', refChosen, P);
  assertLength(op, 'refRejected', refRejected, P);
  if (P === 0) throw new Error(`${op}: no pairs`);
  if (!(beta > 0)) throw new Error(`${op}: beta must be > 0, got ${beta}`);
  if (!(eps >= 0 && eps < 0.5)) throw new Error(`${op}: labelSmoothing must be in [0, 0.5), got ${eps}`);
  return { beta, eps };
}

/** h = (π_w − ref_w) − (π_l − ref_l) as a tensor (P), and the implicit-reward metrics. */
function logRatioMargin(
  g: Graph,
  pc: Tensor,
  pr: Tensor,
  rc: ArrayLike<number>,
  rr: ArrayLike<number>,
  beta: number,
): { h: Tensor; metrics: PreferenceMetrics } {
  const P = pc.size;
  const refDiff = new Float32Array(P);
  let chosen = 0,
    rejected = 0,
    accuracies = 0;
  for (let i = 0; i < P; i++) {
    refDiff[i] = rc[i] - rr[i];
    const c = beta * (pc.data[i] - rc[i]),
      r = beta * (pr.data[i] - rr[i]);
    chosen += c / P;
    rejected += r / P;
    if (c > r) accuracies += 1 / P;
  }
  const h = ops.sub(g, ops.sub(g, pc, pr), new Tensor(refDiff, [P]));
  const metrics = {
    'rewards/chosen': chosen,
    'rewards/rejected': rejected,
    'rewards/accuracies': accuracies,
    'rewards/margins': chosen - rejected,
  };
  return { h, metrics };
}

/**
 * policyChosen, policyRejected: (P) sequence log-probs under the policy, with gradients;
 * refChosen, refRejected: (P) the same under the frozen reference. Returns the mean loss over pairs.
 */
export function dpoLoss(
  g: Graph,
  policyChosen: Tensor,
  policyRejected: Tensor,
  refChosen: ArrayLike<number>,
  refRejected: ArrayLike<number>,
  o: DPOOptions = {},
): { loss: Tensor; metrics: PreferenceMetrics } {
  const P = policyChosen.size;
  const { beta, eps } = check('dpoLoss', P, policyRejected, refChosen, refRejected, o);
  const { h, metrics } = logRatioMargin(g, policyChosen, policyRejected, refChosen, refRejected, beta);
  const z = ops.affine(g, h, beta);
  let loss = ops.dot(g, ops.logSigmoid(g, z), new Float32Array(P).fill(-(1 - eps) / P));
  if (eps > 0)
    loss = ops.add(g, loss, ops.dot(g, ops.logSigmoid(g, ops.affine(g, z, -1)), new Float32Array(P).fill(-eps / P)));
  return { loss, metrics };
}

/** IPO on the same inputs (per-token mean log-probs, see the NOTE above); labelSmoothing must be 0. */
export function ipoLoss(
  g: Graph,
  policyChosen: Tensor,
  policyRejected: Tensor,
  refChosen: ArrayLike<number>,
  refRejected: ArrayLike<number>,
  o: DPOOptions = {},
): { loss: Tensor; metrics: PreferenceMetrics } {
  const { beta, eps } = check('ipoLoss', policyChosen.size, policyRejected, refChosen, refRejected, o);
  if (eps !== 0)
    throw new Error('ipoLoss: labelSmoothing applies to DPO only; IPO already regularizes toward the margin 1/(2β)');
  const { h, metrics } = logRatioMargin(g, policyChosen, policyRejected, refChosen, refRejected, beta);
  return { loss: ops.mean(g, ops.square(g, ops.affine(g, h, 1, -1 / (2 * beta)))), metrics };
}

// ---- plain-number references with hand-derived gradients (tests) ----

type PairGrads = { loss: number; dChosen: number[]; dRejected: number[] };

/** DPO: dL/dh = β·(σ(βh) − (1 − ε))/P; dh/dπ_w = 1, dh/dπ_l = −1. */
export function dpo(pc: number[], pr: number[], rc: number[], rr: number[], o: DPOOptions = {}): PairGrads {
  const { beta = 0.1, labelSmoothing: eps = 0 } = o;
  const P = pc.length;
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  let loss = 0;
  const dChosen = pc.map((_, i) => {
    const z = beta * (pc[i] - rc[i] - (pr[i] - rr[i]));
    loss -= ((1 - eps) * Math.log(sig(z)) + eps * Math.log(sig(-z))) / P;
    return (beta * (sig(z) - (1 - eps))) / P;
  });
  return { loss, dChosen, dRejected: dChosen.map((d) => -d) };
}

/** IPO: dL/dh = 2·(h − 1/(2β))/P. */
export function ipo(pc: number[], pr: number[], rc: number[], rr: number[], o: DPOOptions = {}): PairGrads {
  const { beta = 0.1 } = o;
  const P = pc.length;
  let loss = 0;
  const dChosen = pc.map((_, i) => {
    const d = pc[i] - rc[i] - (pr[i] - rr[i]) - 1 / (2 * beta);
    loss += (d * d) / P;
    return (2 * d) / P;
  });
  return { loss, dChosen, dRejected: dChosen.map((d) => -d) };
}
