// Masks over token grids (B, T), flattened row-major to N = B·T entries: 1 marks a token the
// objective counts (a completion token), 0 a prompt or padding position. Shared by every
// token-level objective so that they all agree on what "the mean over valid tokens" is.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Tensor } from '../engine/tensor.js';

/** Throws unless `what` has n entries. */
export function assertLength(op: string, what: string, a: ArrayLike<number>, n: number): void {
  if (a.length !== n) throw new Error(`${op}: ${what} has ${a.length} entries, expected ${n} (one per token, B·T)`);
}

/** Number of valid entries of mask (N); throws unless it has n entries, each 0 or 1. */
export function countValid(op: string, mask: ArrayLike<number>, n: number): number {
  assertLength(op, 'mask', mask, n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const m = mask[i];
    if (m !== 0 && m !== 1) throw new Error(`${op}: mask[${i}] is ${m}; masks hold 0 (ignore) or 1 (valid token)`);
    count += m;
  }
  return count;
}

/**
 * Weights mask/count (N), so that a masked mean is one dot product. Throws when no entry is valid:
 * NOTE: a mean over nothing would be NaN (as in TRL's masked_mean), which silently poisons training.
 */
export function meanWeights(op: string, mask: ArrayLike<number>, n: number): Float32Array {
  const count = countValid(op, mask, n);
  if (count === 0)
    throw new Error(
      `${op}: the mask has no valid token, so there is nothing to average; check the batch's completion masks`,
    );
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = mask[i] / count;
  return w;
}

/** Mean of x (N) over its valid entries: a scalar tensor. */
export function tokenMean(g: Graph, x: Tensor, mask: ArrayLike<number>): Tensor {
  return ops.dot(g, x, meanWeights('tokenMean', mask, x.size));
}
