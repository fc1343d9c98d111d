// The pairwise preference loss of reward models (Bradley-Terry), as in Stiennon et al. and InstructGPT:
//   loss = −mean log σ(r_chosen − r_rejected − margin) + centering · mean((r_chosen + r_rejected)²)
// The centering term (TRL's center_rewards_coefficient) keeps rewards near 0 without changing
// which completion wins.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';

export interface BradleyTerryOptions {
  /** Per-pair margins subtracted inside the sigmoid (TRL's `margin`), default 0. */
  margins?: ArrayLike<number>;
  /** Per-pair weights of the mean (e.g. 1/C(K,2) for each of a K-ranking's pairs); default equal. */
  weights?: ArrayLike<number>;
  /** Coefficient of the reward-centering term. */
  centering?: number;
}

/**
 * rChosen, rRejected: (P) rewards of the preferred and the other completion of P pairs.
 * Returns the scalar loss (weighted mean over pairs).
 */
export function bradleyTerryLoss(g: Graph, rChosen: Tensor, rRejected: Tensor, o: BradleyTerryOptions = {}): Tensor {
  const P = rChosen.size;
  if (rRejected.size !== P) throw new Error(`bradleyTerryLoss: ${P} chosen rewards but ${rRejected.size} rejected`);
  const w = normalizedWeights(P, o.weights);
  let diff = ops.sub(g, rChosen, rRejected);
  if (o.margins) diff = ops.sub(g, diff, Tensor.from(o.margins));
  const nll = ops.dot(
    g,
    ops.logSigmoid(g, diff),
    w.map((x) => -x),
  );
  if (!o.centering) return nll;
  const sum = ops.add(g, rChosen, rRejected);
  return ops.add(g, nll, ops.affine(g, ops.dot(g, ops.square(g, sum), w), o.centering));
}

/** The same loss on plain numbers, with its gradients: the reference for tests and for metrics. */
export function bradleyTerry(
  rc: number[],
  rr: number[],
  o: BradleyTerryOptions = {},
): { loss: number; dChosen: number[]; dRejected: number[] } {
  const w = normalizedWeights(rc.length, o.weights);
  let loss = 0;
  const dChosen: number[] = [],
    dRejected: number[] = [];
  rc.forEach((c, i) => {
    const d = c - rr[i] - (o.margins ? o.margins[i] : 0);
    const s = 1 / (1 + Math.exp(-d));
    loss -= w[i] * Math.log(s);
    const cent = o.centering ? o.centering * w[i] * 2 * (c + rr[i]) : 0;
    if (o.centering) loss += o.centering * w[i] * (c + rr[i]) ** 2;
    dChosen.push(-w[i] * (1 - s) + cent);
    dRejected.push(w[i] * (1 - s) + cent);
  });
  return { loss, dChosen, dRejected };
}

function normalizedWeights(P: number, weights?: ArrayLike<number>): Float32Array {
  const w = new Float32Array(P);
  let total = 0;
  for (let i = 0; i < P; i++) total += w[i] = weights ? weights[i] : 1;
  if (!(total > 0)) throw new Error('bradleyTerryLoss: the pair weights must sum to a positive number');
  for (let i = 0; i < P; i++) w[i] /= total;
  return w;
}
