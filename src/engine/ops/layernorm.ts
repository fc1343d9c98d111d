// ---- layer norm ----

import { Graph } from '../graph.js';
import { simd } from '../simd.js';
import { Tensor } from '../tensor.js';

/** y = (x − mean) / √(var + eps) · w + b over the last dimension C. x: (N, C); w, b: (C). */
export function layerNorm(g: Graph, x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): Tensor {
  const C = x.shape[x.shape.length - 1];
  const N = x.size / C;
  if (w.size !== C || b.size !== C)
    throw new Error(`layerNorm: weight/bias must have ${C} elements, got ${w.size}/${b.size}`);
  const y = g.output(x.shape, x, w, b);
  // x̂ (normalized input) and 1/σ per row, kept for backward.
  const xhat = y.requiresGrad ? g.alloc(N * C) : null;
  const rstd = y.requiresGrad ? g.alloc(N) : null;
  // The SIMD kernels work on whole 4-float vectors: rows of C % 4 ≠ 0 take the JavaScript loops.
  const vec = simd && C % 4 === 0 ? simd : null;
  if (vec) vec.layerNormForward(x.data, w.data, b.data, y.data, xhat, rstd, N, C, eps);
  else layerNormForward(x.data, w.data, b.data, y.data, xhat, rstd, N, C, eps);
  g.onBackward(y, () => {
    const dx = x.requiresGrad ? g.gradOf(x) : null,
      dw = w.requiresGrad ? g.gradOf(w) : null,
      db = b.requiresGrad ? g.gradOf(b) : null;
    if (vec) vec.layerNormBackward(y.grad!, xhat!, rstd!, w.data, dx, dw, db, N, C);
    else layerNormBackward(y.grad!, xhat!, rstd!, w.data, dx, dw, db, N, C);
  });
  return y;
}

// NOTE: the kernels are plain functions over typed arrays with no nullable values in the inner
// loops: V8 compiles such loops several times faster than ones that test an optional array per element.

function layerNormForward(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  y: Float32Array,
  xhat: Float32Array | null,
  rstd: Float32Array | null,
  N: number,
  C: number,
  eps: number,
): void {
  const keep = xhat !== null;
  const xh = xhat ?? new Float32Array(0);
  for (let i = 0; i < N; i++) {
    const o = i * C;
    let s = 0;
    for (let j = 0; j < C; j++) s += x[o + j];
    const m = s / C;
    let v = 0;
    for (let j = 0; j < C; j++) {
      const d = x[o + j] - m;
      v += d * d;
    }
    const r = 1 / Math.sqrt(v / C + eps);
    if (keep) {
      rstd![i] = r;
      for (let j = 0; j < C; j++) {
        const n = (x[o + j] - m) * r;
        xh[o + j] = n;
        y[o + j] = n * w[j] + b[j];
      }
    } else {
      for (let j = 0; j < C; j++) y[o + j] = (x[o + j] - m) * r * w[j] + b[j];
    }
  }
}

function layerNormBackward(
  dy: Float32Array,
  xhat: Float32Array,
  rstd: Float32Array,
  w: Float32Array,
  dx: Float32Array | null,
  dw: Float32Array | null,
  db: Float32Array | null,
  N: number,
  C: number,
): void {
  if (dw) for (let i = 0; i < N; i++) rowDot(dy, xhat, dw, i * C, C);
  if (db) for (let i = 0; i < N; i++) rowAdd(dy, db, i * C, C);
  if (!dx) return;
  for (let i = 0; i < N; i++) {
    const o = i * C,
      r = rstd[i];
    // dx = r·(dn − mean(dn) − x̂·mean(dn·x̂)), dn = dy·w
    let sumD = 0,
      sumDN = 0;
    for (let j = 0; j < C; j++) {
      const dn = dy[o + j] * w[j];
      sumD += dn;
      sumDN += dn * xhat[o + j];
    }
    sumD /= C;
    sumDN /= C;
    for (let j = 0; j < C; j++) dx[o + j] += r * (dy[o + j] * w[j] - sumD - xhat[o + j] * sumDN);
  }
}

function rowDot(dy: Float32Array, xhat: Float32Array, dw: Float32Array, o: number, C: number): void {
  for (let j = 0; j < C; j++) dw[j] += dy[o + j] * xhat[o + j];
}

function rowAdd(dy: Float32Array, db: Float32Array, o: number, C: number): void {
  for (let j = 0; j < C; j++) db[j] += dy[o + j];
}
