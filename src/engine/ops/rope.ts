// ---- rotary position embeddings (Hugging Face's rotate-half layout) ----
// Each head of width hd is rotated as hd/2 pairs (x[i], x[i + hd/2]) by the angle of (position, i):
//   out[i]        = x[i]·cos − x[i + hd/2]·sin
//   out[i + hd/2] = x[i + hd/2]·cos + x[i]·sin
// NOTE: this is the layout of Hugging Face's Llama/Qwen checkpoints (rotate_half), not the interleaved
// pairs (x[2i], x[2i+1]) of Meta's original code; the two differ by a permutation of q and k's rows.

import { Graph } from '../graph.js';
import { Tensor } from '../tensor.js';

/** Heads and rotary tables of ropeQKV. */
export interface RopeQKVOptions {
  /** Query heads. */
  nHead: number;
  /** Key/value heads (grouped-query attention: nHead is a multiple of it). */
  nKvHead: number;
  /** Width of one head (even). */
  headDim: number;
  /** (maxPositions, headDim/2) tables: row p, column i = cos, sin of position p times frequency i. */
  cos: Float32Array;
  sin: Float32Array;
  /** Position of each row's first token (one for every row, or one per row): row b's token t is at starts[b]+t. */
  starts: number | ArrayLike<number>;
}

/**
 * q: (B, T, nHead·hd); k, v: (B, T, nKvHead·hd). Returns (B, T, (nHead + 2·nKvHead)·hd) laid out per token as
 * [q heads | k heads | v heads], with q and k rotated and v copied: the qkv that attention takes with `heads`.
 */
export function ropeQKV(g: Graph, q: Tensor, k: Tensor, v: Tensor, B: number, T: number, o: RopeQKVOptions): Tensor {
  const { nHead, nKvHead, headDim: hd, cos, sin } = o;
  if (!(Number.isInteger(nKvHead) && nKvHead > 0 && nHead % nKvHead === 0))
    throw new Error(`ropeQKV: nHead=${nHead} must be a positive multiple of nKvHead=${nKvHead}`);
  const Wq = nHead * hd,
    Wk = nKvHead * hd,
    W = Wq + 2 * Wk;
  expectSize('ropeQKV', 'q', q, B, T, Wq);
  expectSize('ropeQKV', 'k', k, B, T, Wk);
  expectSize('ropeQKV', 'v', v, B, T, Wk);
  const starts = positions('ropeQKV', B, T, hd, cos, sin, o.starts);
  const half = hd / 2;
  const y = g.output([B, T, W], q, k, v);
  const yd = y.data;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const r = b * T + t,
        c = (starts[b] + t) * half;
      rotate(q.data, r * Wq, yd, r * W, nHead, hd, cos, sin, c);
      rotate(k.data, r * Wk, yd, r * W + Wq, nKvHead, hd, cos, sin, c);
      yd.set(v.data.subarray(r * Wk, r * Wk + Wk), r * W + Wq + Wk);
    }
  }
  g.onBackward(y, () => {
    const dy = y.grad!;
    const dq = q.requiresGrad ? g.gradOf(q) : null,
      dk = k.requiresGrad ? g.gradOf(k) : null,
      dv = v.requiresGrad ? g.gradOf(v) : null;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const r = b * T + t,
          c = (starts[b] + t) * half;
        if (dq) unrotateAdd(dy, r * W, dq, r * Wq, nHead, hd, cos, sin, c);
        if (dk) unrotateAdd(dy, r * W + Wq, dk, r * Wk, nKvHead, hd, cos, sin, c);
        if (dv) for (let j = 0; j < Wk; j++) dv[r * Wk + j] += dy[r * W + Wq + Wk + j];
      }
    }
  });
  return y;
}

/** x: (B, T, nHeads·hd) → the same with every head rotated by its token's position starts[b]+t. */
export function rope(
  g: Graph,
  x: Tensor,
  B: number,
  T: number,
  nHeads: number,
  headDim: number,
  cos: Float32Array,
  sin: Float32Array,
  starts: number | ArrayLike<number> = 0,
): Tensor {
  const W = nHeads * headDim;
  expectSize('rope', 'x', x, B, T, W);
  const pos = positions('rope', B, T, headDim, cos, sin, starts);
  const half = headDim / 2;
  const y = g.output([B, T, W], x);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      rotate(x.data, (b * T + t) * W, y.data, (b * T + t) * W, nHeads, headDim, cos, sin, (pos[b] + t) * half);
  g.onBackward(y, () => {
    const dy = y.grad!,
      dx = g.gradOf(x);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const r = (b * T + t) * W;
        unrotateAdd(dy, r, dx, r, nHeads, headDim, cos, sin, (pos[b] + t) * half);
      }
  });
  return y;
}

// ---- tables ----

/** Hugging Face's default inverse frequencies 1 / θ^(2i/hd), i < hd/2, computed in float32 as it does. */
export function ropeInvFreq(headDim: number, theta = 10000): Float32Array {
  const f = new Float32Array(headDim / 2);
  for (let i = 0; i < f.length; i++) f[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / headDim));
  return f;
}

/**
 * cos and sin tables (maxPositions, invFreq.length) for ropeQKV: angle = position · invFreq[i].
 * NOTE: the angle is rounded to float32 first, as Hugging Face's float32 matmul of positions and
 * frequencies does; at position 4000 that rounding moves it by ~1e-4, more than the cosine's own error.
 */
export function ropeTables(invFreq: ArrayLike<number>, maxPositions: number): { cos: Float32Array; sin: Float32Array } {
  const half = invFreq.length;
  const cos = new Float32Array(maxPositions * half),
    sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const a = Math.fround(p * invFreq[i]);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

// ---- kernels ----

/** Rotates nH heads of width hd at src[so …] into dst[dOff …], with the table row starting at c. */
function rotate(
  src: Float32Array,
  so: number,
  dst: Float32Array,
  dOff: number,
  nH: number,
  hd: number,
  cos: Float32Array,
  sin: Float32Array,
  c: number,
): void {
  const half = hd >> 1;
  for (let h = 0; h < nH; h++) {
    const s = so + h * hd,
      d = dOff + h * hd;
    for (let i = 0; i < half; i++) {
      const a = src[s + i],
        b = src[s + i + half],
        cs = cos[c + i],
        sn = sin[c + i];
      dst[d + i] = a * cs - b * sn;
      dst[d + i + half] = b * cs + a * sn;
    }
  }
}

/** Adds the inverse rotation (the transpose: angle −θ) of nH heads of dy at dyOff into dx at dxOff. */
function unrotateAdd(
  dy: Float32Array,
  dyOff: number,
  dx: Float32Array,
  dxOff: number,
  nH: number,
  hd: number,
  cos: Float32Array,
  sin: Float32Array,
  c: number,
): void {
  const half = hd >> 1;
  for (let h = 0; h < nH; h++) {
    const s = dyOff + h * hd,
      d = dxOff + h * hd;
    for (let i = 0; i < half; i++) {
      const a = dy[s + i],
        b = dy[s + i + half],
        cs = cos[c + i],
        sn = sin[c + i];
      dx[d + i] += a * cs + b * sn;
      dx[d + i + half] += b * cs - a * sn;
    }
  }
}

// ---- checks ----

function expectSize(op: string, what: string, x: Tensor, B: number, T: number, W: number): void {
  if (x.size !== B * T * W)
    throw new Error(`${op}: ${what} has shape [${x.shape.join(', ')}], expected [${B}, ${T}, ${W}]`);
}

/** The first position of every row, checked against the tables' length. */
function positions(
  op: string,
  B: number,
  T: number,
  hd: number,
  cos: Float32Array,
  sin: Float32Array,
  starts: number | ArrayLike<number>,
): Int32Array {
  if (!(Number.isInteger(hd) && hd > 0 && hd % 2 === 0))
    throw new Error(`${op}: headDim must be a positive even number, got ${hd}`);
  const half = hd / 2;
  if (cos.length !== sin.length || cos.length % half !== 0)
    throw new Error(
      `${op}: cos and sin tables have ${cos.length} and ${sin.length} entries; both must be (maxPositions, ` +
        `headDim/2 = ${half})`,
    );
  if (typeof starts !== 'number' && starts.length !== B)
    throw new Error(`${op}: ${starts.length} starts for B=${B} rows`);
  const out = new Int32Array(B);
  const maxPositions = cos.length / half;
  for (let b = 0; b < B; b++) {
    const s = typeof starts === 'number' ? starts : starts[b];
    out[b] = s;
    if (!(Number.isInteger(s) && s >= 0)) throw new Error(`${op}: start of row ${b} must be an integer ≥ 0, got ${s}`);
    if (s + T > maxPositions)
      throw new Error(
        `${op}: positions up to ${s + T} but the rotary tables hold ${maxPositions}; ` +
          "build the tables for the model's whole context",
      );
  }
  return out;
}
