// ---- element-wise ops and reductions ----

import { Graph } from '../graph.js';
import { fastTanh, sigmoid as sigmoidScalar, softplus } from '../math.js';
import { simd } from '../simd.js';
import { Tensor } from '../tensor.js';

function sameSize(op: string, a: Tensor, b: Tensor): void {
  if (a.size !== b.size) throw new Error(`${op}: sizes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
}

/** a + b, same size (the residual connection). */
export function add(g: Graph, a: Tensor, b: Tensor): Tensor {
  sameSize('add', a, b);
  const y = g.output(a.shape, a, b);
  const ad = a.data,
    bd = b.data,
    yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = ad[i] + bd[i];
  g.onBackward(y, () => {
    const dy = y.grad!;
    if (a.requiresGrad) g.addGrad(a, dy);
    if (b.requiresGrad) g.addGrad(b, dy);
  });
  return y;
}

/** a − b, same size. */
export function sub(g: Graph, a: Tensor, b: Tensor): Tensor {
  sameSize('sub', a, b);
  const y = g.output(a.shape, a, b);
  const ad = a.data,
    bd = b.data,
    yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = ad[i] - bd[i];
  g.onBackward(y, () => {
    const dy = y.grad!;
    if (a.requiresGrad) g.addGrad(a, dy);
    if (b.requiresGrad) {
      const db = g.gradOf(b);
      for (let i = 0; i < dy.length; i++) db[i] -= dy[i];
    }
  });
  return y;
}

/** a ⊙ b, same size. */
export function mul(g: Graph, a: Tensor, b: Tensor): Tensor {
  sameSize('mul', a, b);
  const y = g.output(a.shape, a, b);
  const ad = a.data,
    bd = b.data,
    yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = ad[i] * bd[i];
  g.onBackward(y, () => {
    const dy = y.grad!;
    if (a.requiresGrad) {
      const da = g.gradOf(a);
      for (let i = 0; i < dy.length; i++) da[i] += dy[i] * bd[i];
    }
    if (b.requiresGrad) {
      const db = g.gradOf(b);
      for (let i = 0; i < dy.length; i++) db[i] += dy[i] * ad[i];
    }
  });
  return y;
}

/** s·x + c for scalars s, c. */
export function affine(g: Graph, x: Tensor, s: number, c = 0): Tensor {
  const y = g.output(x.shape, x);
  const xd = x.data,
    yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = s * xd[i] + c;
  g.onBackward(y, () => {
    const dy = y.grad!,
      dx = g.gradOf(x);
    for (let i = 0; i < dy.length; i++) dx[i] += s * dy[i];
  });
  return y;
}

/** Applies f element-wise; df(x, y) is its derivative given the input and the output. */
function unary(g: Graph, x: Tensor, f: (v: number) => number, df: (v: number, out: number) => number): Tensor {
  const y = g.output(x.shape, x);
  const xd = x.data,
    yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = f(xd[i]);
  g.onBackward(y, () => {
    const dy = y.grad!,
      dx = g.gradOf(x);
    for (let i = 0; i < dy.length; i++) dx[i] += dy[i] * df(xd[i], yd[i]);
  });
  return y;
}

export const exp = (g: Graph, x: Tensor) => unary(g, x, Math.exp, (_v, e) => e);
export const log = (g: Graph, x: Tensor) => unary(g, x, Math.log, (v) => 1 / v);
export const sigmoid = (g: Graph, x: Tensor) => unary(g, x, sigmoidScalar, (_v, s) => s * (1 - s));
/** log σ(x), stable for large |x| (the Bradley-Terry and DPO losses). */
export const logSigmoid = (g: Graph, x: Tensor) =>
  unary(
    g,
    x,
    (v) => -softplus(-v),
    (v) => sigmoidScalar(-v),
  );
export const tanh = (g: Graph, x: Tensor) => unary(g, x, Math.tanh, (_v, t) => 1 - t * t);
export const relu = (g: Graph, x: Tensor) =>
  unary(
    g,
    x,
    (v) => (v > 0 ? v : 0),
    (v) => (v > 0 ? 1 : 0),
  );
export const square = (g: Graph, x: Tensor) =>
  unary(
    g,
    x,
    (v) => v * v,
    (v) => 2 * v,
  );

const GELU_K = Math.sqrt(2 / Math.PI);

/** GELU, tanh form (GPT-2's "gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function gelu(g: Graph, x: Tensor): Tensor {
  const y = g.output(x.shape, x);
  const xd = x.data,
    yd = y.data,
    n = yd.length;
  // The derivative is computed in the same pass and kept, so backward is one multiply.
  const d = y.requiresGrad ? g.alloc(n) : null;
  if (simd) simd.gelu(xd, yd, d);
  else if (d) {
    for (let i = 0; i < n; i++) {
      const v = xd[i];
      const t = fastTanh(GELU_K * (v + 0.044715 * v * v * v));
      yd[i] = 0.5 * v * (1 + t);
      d[i] = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * 0.044715 * v * v);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = xd[i];
      yd[i] = 0.5 * v * (1 + fastTanh(GELU_K * (v + 0.044715 * v * v * v)));
    }
  }
  g.onBackward(y, () => {
    const dy = y.grad!,
      dx = g.gradOf(x);
    for (let i = 0; i < n; i++) dx[i] += dy[i] * d![i];
  });
  return y;
}

/** Sum of all elements (a scalar). */
export function sum(g: Graph, x: Tensor): Tensor {
  const y = g.output([1], x);
  let s = 0;
  const xd = x.data;
  for (let i = 0; i < xd.length; i++) s += xd[i];
  y.data[0] = s;
  g.onBackward(y, () => {
    const d = y.grad![0],
      dx = g.gradOf(x);
    for (let i = 0; i < dx.length; i++) dx[i] += d;
  });
  return y;
}

/** Mean of all elements (a scalar). */
export function mean(g: Graph, x: Tensor): Tensor {
  return affine(g, sum(g, x), 1 / x.size);
}

/** Weighted sum Σ wᵢ·xᵢ with constant weights (masked means, per-token losses). */
export function dot(g: Graph, x: Tensor, w: ArrayLike<number>): Tensor {
  if (w.length !== x.size) throw new Error(`dot: ${w.length} weights for ${x.size} elements`);
  const y = g.output([1], x);
  let s = 0;
  const xd = x.data;
  for (let i = 0; i < xd.length; i++) s += xd[i] * w[i];
  y.data[0] = s;
  g.onBackward(y, () => {
    const d = y.grad![0],
      dx = g.gradOf(x);
    for (let i = 0; i < dx.length; i++) dx[i] += d * w[i];
  });
  return y;
}

/** A view with another shape of the same size; gradients pass through unchanged. */
export function reshape(g: Graph, x: Tensor, shape: number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== x.size) throw new Error(`reshape: cannot view [${x.shape.join(', ')}] as [${shape.join(', ')}]`);
  const y = new Tensor(x.data, shape, g.recording && x.requiresGrad);
  g.onBackward(y, () => g.addGrad(x, y.grad!));
  return y;
}

/** Rows idx[i] of x (N, C) → (len(idx), C): the hidden state at each sequence's last token. */
export function selectRows(g: Graph, x: Tensor, idx: ArrayLike<number>): Tensor {
  const C = x.shape[x.shape.length - 1];
  const N = x.size / C;
  const y = g.output([idx.length, C], x);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (r < 0 || r >= N || !Number.isInteger(r)) throw new Error(`selectRows: row ${r} out of range [0, ${N})`);
    y.data.set(x.data.subarray(r * C, r * C + C), i * C);
  }
  g.onBackward(y, () => {
    const dy = y.grad!,
      dx = g.gradOf(x);
    for (let i = 0; i < idx.length; i++) {
      const o = idx[i] * C;
      for (let j = 0; j < C; j++) dx[o + j] += dy[i * C + j];
    }
  });
  return y;
}

/**
 * Logits (N, V) scaled by s in their first `keep` columns; the other columns are set to a large
 * negative constant (probability exactly 0 after a softmax, yet finite, so p·log p stays 0) and get
 * no gradient.
 */
export function scaleAndMaskColumns(g: Graph, x: Tensor, s: number, keep: number): Tensor {
  const V = x.shape[x.shape.length - 1];
  const y = g.output(x.shape, x);
  for (let o = 0; o < y.size; o += V) scaleAndMaskRow(x.data, o, y.data, o, V, s, keep);
  g.onBackward(y, () => {
    const dy = y.grad!,
      dx = g.gradOf(x);
    for (let o = 0; o < dy.length; o += V) for (let j = 0; j < keep; j++) dx[o + j] += s * dy[o + j];
  });
  return y;
}

/** The logit of a token that may never be chosen (a padded vocabulary's extra rows). */
export const MASKED_LOGIT = -1e9;

/** One row of scaleAndMaskColumns, on plain arrays: y[yOff + j] for j < V from x[xOff + j]. */
export function scaleAndMaskRow(
  x: Float32Array,
  xOff: number,
  y: Float32Array,
  yOff: number,
  V: number,
  s: number,
  keep: number,
): void {
  for (let j = 0; j < V; j++) y[yOff + j] = j < keep ? s * x[xOff + j] : MASKED_LOGIT;
}
