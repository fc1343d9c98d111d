// ---- softmax-based losses over a vocabulary ----
// Each op takes logits (N, V) and computes the log-softmax once, in one pass per row.

import { Graph } from '../graph.js';
import { simd } from '../simd.js';
import { Tensor } from '../tensor.js';

/** Targets below 0 (Hugging Face's -100) are ignored: no loss, no gradient. */
export const IGNORE_INDEX = -100;

function dims(op: string, logits: Tensor, n?: number): [number, number] {
  const V = logits.shape[logits.shape.length - 1];
  const N = logits.size / V;
  if (n !== undefined && n !== N) throw new Error(`${op}: ${n} targets for ${N} rows of logits`);
  return [N, V];
}

/** Writes softmax(row) into p[o..o+V) and returns log Σ exp(row). */
function softmaxRow(z: Float32Array, p: Float32Array | null, o: number, V: number): number {
  let m = -Infinity;
  for (let j = 0; j < V; j++) if (z[o + j] > m) m = z[o + j];
  let s = 0;
  if (p) {
    for (let j = 0; j < V; j++) {
      const e = Math.exp(z[o + j] - m);
      p[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < V; j++) p[o + j] *= inv;
  } else {
    for (let j = 0; j < V; j++) s += Math.exp(z[o + j] - m);
  }
  return m + Math.log(s);
}

/**
 * Mean cross-entropy over rows whose target is ≥ 0. logits (N, V), targets (N). Returns a scalar.
 * With weights (N), the mean is weighted: Σ wᵢ·nllᵢ / Σ wᵢ (reward-weighted behaviour cloning).
 */
export function crossEntropy(g: Graph, logits: Tensor, targets: Int32Array, weights?: ArrayLike<number>): Tensor {
  if (weights && weights.length !== targets.length)
    throw new Error(`crossEntropy: ${weights.length} weights for ${targets.length} rows`);
  const [N, V] = dims('crossEntropy', logits, targets.length);
  const y = g.output([1], logits);
  const z = logits.data;
  const p = y.requiresGrad ? g.alloc(N * V) : null;
  for (let i = 0; i < N; i++) {
    if (targets[i] >= V)
      throw new Error(`crossEntropy: target ${targets[i]} at row ${i} is outside the vocabulary [0, ${V})`);
  }
  // All rows' softmax at once in SIMD when the vocabulary is a whole number of vectors.
  const lses = p && simd && V % 4 === 0 ? g.alloc(N) : null;
  if (lses) {
    p!.set(z);
    simd!.softmaxRows(p!, V, false, lses);
  }
  let total = 0,
    count = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t < 0) continue;
    const w = weights ? weights[i] : 1;
    const lse = lses ? lses[i] : softmaxRow(z, p, i * V, V);
    total += w * (lse - z[i * V + t]);
    count += w;
  }
  y.data[0] = count > 0 ? total / count : 0;
  g.onBackward(y, () => {
    if (count === 0) return;
    const d0 = y.grad![0] / count,
      dz = g.gradOf(logits);
    for (let i = 0; i < N; i++) {
      const t = targets[i];
      if (t < 0) continue;
      const o = i * V,
        d = weights ? d0 * weights[i] : d0;
      for (let j = 0; j < V; j++) dz[o + j] += d * p![o + j];
      dz[o + t] -= d;
    }
  });
  return y;
}

/**
 * log p(targets[i] | row i) for each row: (N). Rows with a negative target give 0 and no gradient.
 * The per-token log-probabilities of RLHF objectives (PPO ratios, DPO, KL to the reference).
 */
export function tokenLogProbs(g: Graph, logits: Tensor, targets: Int32Array): Tensor {
  const [N, V] = dims('tokenLogProbs', logits, targets.length);
  const y = g.output([N], logits);
  const z = logits.data;
  const p = y.requiresGrad ? g.alloc(N * V) : null;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t < 0) {
      y.data[i] = 0;
      continue;
    }
    if (t >= V) throw new Error(`tokenLogProbs: target ${t} at row ${i} is outside the vocabulary [0, ${V})`);
    y.data[i] = z[i * V + t] - softmaxRow(z, p, i * V, V);
  }
  g.onBackward(y, () => {
    const dy = y.grad!,
      dz = g.gradOf(logits);
    for (let i = 0; i < N; i++) {
      const t = targets[i];
      if (t < 0) continue;
      const o = i * V,
        d = dy[i];
      for (let j = 0; j < V; j++) dz[o + j] -= d * p![o + j];
      dz[o + t] += d;
    }
  });
  return y;
}

/** Entropy −Σ p log p of each row's softmax: (N). */
export function entropy(g: Graph, logits: Tensor): Tensor {
  const [N, V] = dims('entropy', logits);
  const y = g.output([N], logits);
  const z = logits.data;
  const p = g.alloc(N * V);
  const lses = g.alloc(N);
  for (let i = 0; i < N; i++) {
    const o = i * V;
    const lse = (lses[i] = softmaxRow(z, p, o, V));
    let h = 0;
    for (let j = 0; j < V; j++) h -= p[o + j] * (z[o + j] - lse);
    y.data[i] = h;
  }
  g.onBackward(y, () => {
    // dH/dz_j = −p_j (log p_j + H)
    const dy = y.grad!,
      dz = g.gradOf(logits);
    for (let i = 0; i < N; i++) {
      const o = i * V,
        h = y.data[i],
        lse = lses[i];
      for (let j = 0; j < V; j++) dz[o + j] -= dy[i] * p[o + j] * (z[o + j] - lse + h);
    }
  });
  return y;
}

/** Row-wise log-softmax: (N, V). */
export function logSoftmax(g: Graph, logits: Tensor): Tensor {
  const [N, V] = dims('logSoftmax', logits);
  const y = g.output(logits.shape, logits);
  const z = logits.data,
    yd = y.data;
  for (let i = 0; i < N; i++) {
    const o = i * V;
    const lse = softmaxRow(z, null, o, V);
    for (let j = 0; j < V; j++) yd[o + j] = z[o + j] - lse;
  }
  g.onBackward(y, () => {
    // dz_j = dy_j − p_j Σ dy
    const dy = y.grad!,
      dz = g.gradOf(logits);
    for (let i = 0; i < N; i++) {
      const o = i * V;
      let s = 0;
      for (let j = 0; j < V; j++) s += dy[o + j];
      for (let j = 0; j < V; j++) dz[o + j] += dy[o + j] - Math.exp(yd[o + j]) * s;
    }
  });
  return y;
}
