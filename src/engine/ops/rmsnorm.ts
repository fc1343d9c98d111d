// ---- RMS norm (the Llama family's LlamaRMSNorm) ----

import { Graph } from '../graph.js';
import { Tensor } from '../tensor.js';

/**
 * y = x / √(mean(x², last dim) + eps) · w over the last dimension C. x: (N, C); w: (C).
 * Hugging Face's LlamaRMSNorm order: normalize first, then multiply by the weight (no bias, no mean).
 * For a per-head norm (Qwen3's q_norm, k_norm over headDim), view x as (…, headDim) first.
 */
export function rmsNorm(g: Graph, x: Tensor, w: Tensor, eps = 1e-6): Tensor {
  const C = x.shape[x.shape.length - 1];
  const N = x.size / C;
  if (w.size !== C)
    throw new Error(
      `rmsNorm: weight has ${w.size} elements but x's last dimension is ${C} (x: [${x.shape.join(', ')}]); ` +
        'reshape x so that its last dimension is the normalized width',
    );
  const y = g.output(x.shape, x, w);
  // 1/rms per row, kept for backward (x itself is read again there).
  const rstd = y.requiresGrad ? g.alloc(N) : new Float32Array(N);
  rmsNormForward(x.data, w.data, y.data, rstd, N, C, eps);
  g.onBackward(y, () => {
    if (w.requiresGrad) rmsNormBackwardW(y.grad!, x.data, rstd, g.gradOf(w), N, C);
    if (x.requiresGrad) rmsNormBackwardX(y.grad!, x.data, rstd, w.data, g.gradOf(x), N, C);
  });
  return y;
}

function rmsNormForward(
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  rstd: Float32Array,
  N: number,
  C: number,
  eps: number,
): void {
  for (let i = 0; i < N; i++) {
    const o = i * C;
    let s = 0;
    for (let j = 0; j < C; j++) s += x[o + j] * x[o + j];
    // NOTE: rounded to float32 before the weight multiplies, as LlamaRMSNorm does with its float32 hidden state.
    const r = Math.fround(1 / Math.sqrt(s / C + eps));
    rstd[i] = r;
    for (let j = 0; j < C; j++) y[o + j] = Math.fround(x[o + j] * r) * w[j];
  }
}

/** dw += Σ_rows dy · x̂, x̂ = x · r. */
function rmsNormBackwardW(
  dy: Float32Array,
  x: Float32Array,
  rstd: Float32Array,
  dw: Float32Array,
  N: number,
  C: number,
): void {
  for (let i = 0; i < N; i++) {
    const o = i * C,
      r = rstd[i];
    for (let j = 0; j < C; j++) dw[j] += dy[o + j] * x[o + j] * r;
  }
}

/** dx += r · (dn − x̂ · mean(dn · x̂)), dn = dy · w, x̂ = x · r. */
function rmsNormBackwardX(
  dy: Float32Array,
  x: Float32Array,
  rstd: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  N: number,
  C: number,
): void {
  for (let i = 0; i < N; i++) {
    const o = i * C,
      r = rstd[i];
    let s = 0;
    for (let j = 0; j < C; j++) s += dy[o + j] * w[j] * x[o + j];
    const m = (s * r) / C;
    for (let j = 0; j < C; j++) dx[o + j] += r * (dy[o + j] * w[j] - x[o + j] * r * m);
  }
}
