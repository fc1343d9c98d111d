// ---- embeddings ----

import { Graph } from '../graph.js';
import { Tensor } from '../tensor.js';

/**
 * x[b, t] = wte[ids[b, t]] + wpe[start_b + t]. ids: (B·T) token ids; wte: (V, C); wpe: (P, C).
 * posOffset is start_b for every row, or one start per row (sequences continued from a KV cache).
 * Backward scatter-adds into the rows that were read.
 */
export function embed(
  g: Graph,
  ids: Int32Array,
  B: number,
  T: number,
  wte: Tensor,
  wpe: Tensor,
  posOffset: number | ArrayLike<number> = 0,
): Tensor {
  const [V, C] = wte.shape;
  if (ids.length !== B * T) throw new Error(`embed: ${ids.length} token ids for B=${B}, T=${T}`);
  const start = typeof posOffset === 'number' ? () => posOffset : (b: number) => posOffset[b];
  if (typeof posOffset !== 'number' && posOffset.length !== B)
    throw new Error(`embed: ${posOffset.length} position offsets for B=${B} rows`);
  for (let b = 0; b < B; b++) {
    if (start(b) + T > wpe.shape[0]) {
      throw new Error(
        `embed: positions up to ${start(b) + T} but the model's context is ${wpe.shape[0]} tokens; shorten the ` +
          `input or use a model with a longer context`,
      );
    }
  }
  const y = g.output([B, T, C], wte, wpe);
  const yd = y.data,
    e = wte.data,
    p = wpe.data;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const id = ids[b * T + t];
      if (id < 0 || id >= V)
        throw new Error(`embed: token id ${id} at (${b}, ${t}) is outside the vocabulary [0, ${V})`);
      const o = (b * T + t) * C,
        eo = id * C,
        po = (start(b) + t) * C;
      for (let j = 0; j < C; j++) yd[o + j] = e[eo + j] + p[po + j];
    }
  }
  g.onBackward(y, () => {
    const dy = y.grad!;
    const de = wte.requiresGrad ? g.gradOf(wte) : null;
    const dp = wpe.requiresGrad ? g.gradOf(wpe) : null;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * C,
          eo = ids[b * T + t] * C,
          po = (start(b) + t) * C;
        for (let j = 0; j < C; j++) {
          const d = dy[o + j];
          if (de) de[eo + j] += d;
          if (dp) dp[po + j] += d;
        }
      }
    }
  });
  return y;
}
