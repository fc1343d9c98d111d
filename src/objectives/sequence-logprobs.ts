// Sequence log-probabilities from per-token ones: log π(y|x) = Σ_t log π(y_t | x, y_<t) over the
// completion's tokens (DPO), or the per-token mean of the same (IPO as in TRL, length-normalized DPO).

import { Graph } from '../engine/graph.js';
import { Tensor } from '../engine/tensor.js';
import { countValid } from './masked.js';

export interface SequenceLogProbsOptions {
  /** Divide each sum by the sequence's number of valid tokens (0 for a sequence with none). */
  average?: boolean;
}

/**
 * tokenLogProbs (B·T) → (B): each row's sum (or mean) over its valid tokens.
 * mask (B·T) is 1 on the completion tokens whose log-probs count.
 */
export function sequenceLogProbs(
  g: Graph,
  tokenLogProbs: Tensor,
  mask: ArrayLike<number>,
  B: number,
  T: number,
  o: SequenceLogProbsOptions = {},
): Tensor {
  if (tokenLogProbs.size !== B * T) {
    throw new Error(
      `sequenceLogProbs: tokenLogProbs has shape [${tokenLogProbs.shape.join(', ')}], expected B·T = ${B}·${T} ` +
        `= ${B * T} entries`,
    );
  }
  countValid('sequenceLogProbs', mask, B * T);
  // w[b, t] = mask / (valid tokens of row b) for the mean, the mask itself for the sum.
  const w = Float32Array.from(mask);
  if (o.average) {
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let t = 0; t < T; t++) n += w[b * T + t];
      if (n > 0) for (let t = 0; t < T; t++) w[b * T + t] /= n;
    }
  }
  return rowDot(g, tokenLogProbs, w, B, T);
}

/** y_b = Σ_t w[b, t]·x[b, t]: x (B·T) → (B), w constant. */
function rowDot(g: Graph, x: Tensor, w: Float32Array, B: number, T: number): Tensor {
  const y = g.output([B], x);
  const xd = x.data;
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = b * T; t < (b + 1) * T; t++) s += w[t] * xd[t];
    y.data[b] = s;
  }
  g.onBackward(y, () => {
    const dy = y.grad!,
      dx = g.gradOf(x);
    for (let b = 0; b < B; b++) {
      for (let t = b * T; t < (b + 1) * T; t++) dx[t] += dy[b] * w[t];
    }
  });
  return y;
}
