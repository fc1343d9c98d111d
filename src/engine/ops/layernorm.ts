// ---- layer norm ----

import { Graph } from '../graph.js';
import { Tensor } from '../tensor.js';

/** y = (x − mean) / √(var + eps) · w + b over the last dimension C. x: (N, C); w, b: (C). */
export function layerNorm(g: Graph, x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): Tensor {
  const C = x.shape[x.shape.length - 1];
  const N = x.size / C;
  if (w.size !== C || b.size !== C) throw new Error(`layerNorm: weight/bias must have ${C} elements, got ${w.size}/${b.size}`);
  const y = g.output(x.shape, x, w, b);
  const mean = g.recording ? g.alloc(N) : null;
  const rstd = g.recording ? g.alloc(N) : null;
  const xd = x.data, yd = y.data, wd = w.data, bd = b.data;
  for (let i = 0; i < N; i++) {
    const o = i * C;
    let m = 0;
    for (let j = 0; j < C; j++) m += xd[o + j];
    m /= C;
    let v = 0;
    for (let j = 0; j < C; j++) {
      const d = xd[o + j] - m;
      v += d * d;
    }
    const r = 1 / Math.sqrt(v / C + eps);
    for (let j = 0; j < C; j++) yd[o + j] = (xd[o + j] - m) * r * wd[j] + bd[j];
    if (mean) {
      mean[i] = m;
      rstd![i] = r;
    }
  }
  g.onBackward(y, () => {
    const dy = y.grad!;
    const dx = x.requiresGrad ? g.gradOf(x) : null;
    const dw = w.requiresGrad ? g.gradOf(w) : null;
    const db = b.requiresGrad ? g.gradOf(b) : null;
    for (let i = 0; i < N; i++) {
      const o = i * C, m = mean![i], r = rstd![i];
      // dnorm = dy·w; dx = r·(dnorm − mean(dnorm) − norm·mean(dnorm·norm))
      let sumD = 0, sumDN = 0;
      for (let j = 0; j < C; j++) {
        const n = (xd[o + j] - m) * r;
        const dn = dy[o + j] * wd[j];
        sumD += dn;
        sumDN += dn * n;
        if (dw) dw[j] += dy[o + j] * n;
        if (db) db[j] += dy[o + j];
      }
      if (dx) {
        sumD /= C;
        sumDN /= C;
        for (let j = 0; j < C; j++) {
          const n = (xd[o + j] - m) * r;
          dx[o + j] += r * (dy[o + j] * wd[j] - sumD - n * sumDN);
        }
      }
    }
  });
  return y;
}
