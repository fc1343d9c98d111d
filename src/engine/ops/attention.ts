// ---- causal self-attention ----
// Works directly on the fused projection: each head's q, k, v are strided slices (leading dimension
// the fused width), so no permute copies are needed before the matrix products.
// Two layouts: GPT-2's (B, T, 3C) with nHead heads of C/nHead each, and, when `heads` is given, the
// grouped-query layout of the Llama family (B, T, (nHead + 2·nKvHead)·headDim) that ropeQKV produces.

import { gemm } from '../gemm.js';
import { Graph } from '../graph.js';
import { simd } from '../simd.js';
import { Tensor } from '../tensor.js';

/** Grouped-query attention: key/value heads, each shared by nHead/nKvHead query heads, and the head width. */
export interface AttentionHeads {
  nKvHead: number;
  headDim: number;
}

/** Where one token's heads sit in a row of the fused projection. */
interface QKVLayout {
  /** Key/value heads; query head h reads key/value head ⌊h / group⌋. */
  nKv: number;
  group: number;
  /** Head width (hs). */
  hs: number;
  /** Row width of qkv (nHead + 2·nKv)·hs, the leading dimension of every head slice. */
  ld: number;
  /** Offsets of the k and v heads inside a row (the q heads start at 0). */
  kBase: number;
  vBase: number;
  /** Output width nHead·hs. */
  C: number;
  /** Width of one token's keys (and of its values) in the KV cache: nKv·hs. */
  Ckv: number;
}

function layoutOf(qkv: Tensor, B: number, T: number, nHead: number, heads?: AttentionHeads): QKVLayout {
  const W = qkv.shape[qkv.shape.length - 1];
  if (!heads) {
    const C = W / 3;
    if (!Number.isInteger(C) || qkv.size !== B * T * W) {
      throw new Error(`attention: qkv has shape [${qkv.shape.join(', ')}], expected [${B}, ${T}, 3·C]`);
    }
    if (C % nHead !== 0) throw new Error(`attention: C=${C} is not divisible by nHead=${nHead}`);
    return { nKv: nHead, group: 1, hs: C / nHead, ld: W, kBase: C, vBase: 2 * C, C, Ckv: C };
  }
  const { nKvHead: nKv, headDim: hs } = heads;
  if (!(Number.isInteger(nKv) && nKv > 0 && nHead % nKv === 0))
    throw new Error(`attention: nHead=${nHead} must be a positive multiple of heads.nKvHead=${nKv}`);
  if (!(Number.isInteger(hs) && hs > 0))
    throw new Error(`attention: heads.headDim must be a positive integer, got ${hs}`);
  const ld = (nHead + 2 * nKv) * hs;
  if (W !== ld || qkv.size !== B * T * ld) {
    throw new Error(
      `attention: qkv has shape [${qkv.shape.join(', ')}], expected [${B}, ${T}, (nHead + 2·nKvHead)·headDim = ` +
        `(${nHead} + 2·${nKv})·${hs} = ${ld}]`,
    );
  }
  return {
    nKv,
    group: nHead / nKv,
    hs,
    ld,
    kBase: nHead * hs,
    vBase: (nHead + nKv) * hs,
    C: nHead * hs,
    Ckv: nKv * hs,
  };
}

/**
 * qkv: (B, T, 3C) laid out [q | k | v] per token, heads contiguous inside each (GPT-2's c_attn); or, with
 * `heads`, (B, T, (nHead + 2·nKvHead)·headDim) laid out [q heads | k heads | v heads] (ropeQKV's output).
 * Returns (B, T, nHead·hs): softmax(q·kᵀ/√hs + causal mask) · v, heads concatenated; query head h attends
 * with key/value head ⌊h·nKvHead/nHead⌋ (Hugging Face's repeat_kv).
 */
export function causalSelfAttention(
  g: Graph,
  qkv: Tensor,
  B: number,
  T: number,
  nHead: number,
  heads?: AttentionHeads,
): Tensor {
  const { nKv, group, hs, ld, kBase, vBase, C } = layoutOf(qkv, B, T, nHead, heads);
  const scale = 1 / Math.sqrt(hs);
  const y = g.output([B, T, C], qkv);
  // (B, nh, T, T) attention probabilities, kept for backward.
  const att = g.alloc(B * nHead * T * T);
  const blas = gemm();
  const x = qkv.data;
  // NOTE: BLAS runs q·kᵀ about twice as fast with kᵀ stored contiguously (hs, T) than with
  // a transposed, strided k; the copy costs far less than it saves (and serves a whole group).
  const kT = g.alloc(hs * T);
  // S (T, T) = q · kᵀ · scale for every (b, h), then one softmax over all their rows, then P · v.
  for (let b = 0; b < B; b++) {
    for (let kh = 0; kh < nKv; kh++) {
      transposeHead(x, b * T * ld + kBase + kh * hs, ld, T, hs, kT);
      for (let h = kh * group; h < (kh + 1) * group; h++) {
        blas.sgemm(
          false,
          false,
          T,
          T,
          hs,
          scale,
          x,
          b * T * ld + h * hs,
          ld,
          kT,
          0,
          T,
          0,
          att,
          (b * nHead + h) * T * T,
          T,
        );
      }
    }
  }
  if (simd && T % 4 === 0) simd.softmaxRows(att, T, true);
  else for (let k = 0; k < B * nHead; k++) causalSoftmaxRows(att, k * T * T, T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nHead; h++) {
      const vOff = b * T * ld + vBase + ((h / group) | 0) * hs;
      // out (T, hs) = P · v, written into the head's slice of y (leading dimension C)
      blas.sgemm(
        false,
        false,
        T,
        hs,
        T,
        1,
        att,
        (b * nHead + h) * T * T,
        T,
        x,
        vOff,
        ld,
        0,
        y.data,
        b * T * C + h * hs,
        C,
      );
    }
  }
  g.onBackward(y, () => {
    const dy = y.grad!;
    const dx = g.gradOf(qkv);
    const dS = g.alloc(B * nHead * T * T);
    const vT = g.alloc(hs * T);
    for (let b = 0; b < B; b++) {
      for (let kh = 0; kh < nKv; kh++) {
        const vOff = b * T * ld + vBase + kh * hs;
        transposeHead(x, vOff, ld, T, hs, vT);
        for (let h = kh * group; h < (kh + 1) * group; h++) {
          const aOff = (b * nHead + h) * T * T,
            oOff = b * T * C + h * hs;
          // dP (T, T) = dout · vᵀ
          blas.sgemm(false, false, T, T, hs, 1, dy, oOff, C, vT, 0, T, 0, dS, aOff, T);
          // dv (T, hs) += Pᵀ · dout, summed over the group's query heads
          blas.sgemm(true, false, T, hs, T, 1, att, aOff, T, dy, oOff, C, 1, dx, vOff, ld);
        }
      }
    }
    // dS = P ⊙ (dP − Σⱼ dPⱼ·Pⱼ), row by row; masked entries have P = 0.
    if (simd && T % 4 === 0) simd.softmaxBackwardRows(att, dS, T, true);
    else for (let k = 0; k < B * nHead; k++) causalSoftmaxBackward(att, dS, k * T * T, T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < nHead; h++) {
        const qOff = b * T * ld + h * hs,
          kOff = b * T * ld + kBase + ((h / group) | 0) * hs;
        const aOff = (b * nHead + h) * T * T;
        // dq += dS · k · scale; dk += dSᵀ · q · scale (summed over the group's query heads)
        blas.sgemm(false, false, T, hs, T, scale, dS, aOff, T, x, kOff, ld, 1, dx, qOff, ld);
        blas.sgemm(true, false, T, hs, T, scale, dS, aOff, T, x, qOff, ld, 1, dx, kOff, ld);
      }
    }
  });
  return y;
}

/** In place on a (T, T) block of dP: dS = P ⊙ (dP − Σⱼ dPⱼ·Pⱼ) for row i over columns 0..i. */
function causalSoftmaxBackward(att: Float32Array, dS: Float32Array, off: number, T: number): void {
  for (let i = 0; i < T; i++) {
    const r = off + i * T;
    let s = 0;
    for (let j = 0; j <= i; j++) s += dS[r + j] * att[r + j];
    for (let j = 0; j <= i; j++) dS[r + j] = att[r + j] * (dS[r + j] - s);
    for (let j = i + 1; j < T; j++) dS[r + j] = 0;
  }
}

/** out (hs, T) = the (T, hs) head slice of src starting at off with row stride ld, transposed. */
function transposeHead(src: Float32Array, off: number, ld: number, T: number, hs: number, out: Float32Array): void {
  for (let t = 0; t < T; t++) {
    const r = off + t * ld;
    for (let d = 0; d < hs; d++) out[d * T + t] = src[r + d];
  }
}

/** Softmax of each row i of a (T, T) block over columns 0..i; columns after i become 0. */
function causalSoftmaxRows(a: Float32Array, off: number, T: number): void {
  for (let i = 0; i < T; i++) {
    const r = off + i * T;
    let m = -Infinity;
    for (let j = 0; j <= i; j++) if (a[r + j] > m) m = a[r + j];
    let s = 0;
    for (let j = 0; j <= i; j++) {
      const e = Math.exp(a[r + j] - m);
      a[r + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j <= i; j++) a[r + j] *= inv;
    for (let j = i + 1; j < T; j++) a[r + j] = 0;
  }
}

// ---- attention over a KV cache (inference) ----

/**
 * One layer's cached keys and values: (R, Tmax, Ckv) each, row r of a sequence at r·Tmax·Ckv; Ckv is C for
 * GPT-2 and nKvHead·headDim with grouped-query heads.
 */
export interface KVLayer {
  k: Float32Array;
  v: Float32Array;
  Tmax: number;
}

/**
 * Attention of T new tokens per sequence over their sequence's cached prefix. qkv and heads as in
 * causalSelfAttention; sequence b is cache row rows[b], its new tokens at positions starts[b] … starts[b]+T-1.
 * Writes their keys and values into the cache at those positions, then returns (B, T, nHead·hs): each query
 * attends over positions 0 … its own. The caller advances the rows' lengths once every layer is done.
 * NOTE: forward only (sampling); training uses causalSelfAttention, which keeps what backward needs.
 */
export function cachedSelfAttention(
  g: Graph,
  qkv: Tensor,
  B: number,
  T: number,
  nHead: number,
  kv: KVLayer,
  rows: ArrayLike<number>,
  starts: ArrayLike<number>,
  heads?: AttentionHeads,
): Tensor {
  const { nKv, group, hs, ld, kBase, vBase, C, Ckv } = layoutOf(qkv, B, T, nHead, heads);
  if (qkv.requiresGrad) throw new Error('cachedSelfAttention has no backward: run it on a Graph.inference() graph');
  if (rows.length !== B || starts.length !== B)
    throw new Error(`attention: ${rows.length} cache rows and ${starts.length} starts for B=${B}`);
  const scale = 1 / Math.sqrt(hs);
  const { k: K, v: V, Tmax } = kv;
  if (K.length % (Tmax * Ckv) !== 0 || V.length !== K.length)
    throw new Error(
      `attention: the KV cache layer holds ${K.length} keys and ${V.length} values, not rows × Tmax (${Tmax}) × ` +
        `${Ckv} (key/value heads × head width); build it with KVCache.forModel for this model`,
    );
  let Lmax = 0;
  for (let b = 0; b < B; b++) Lmax = Math.max(Lmax, starts[b] + T);
  if (Lmax > Tmax) throw new Error(`attention: positions up to ${Lmax} but the KV cache holds ${Tmax}`);
  const y = g.output([B, T, C]);
  // (T, L) scores of one (sequence, head), or (group, L) of one key/value head's queries when decoding
  const S = g.alloc(Math.max(T, group) * Lmax);
  const blas = gemm();
  const x = qkv.data;
  for (let b = 0; b < B; b++) {
    const base = rows[b] * Tmax * Ckv,
      start = starts[b],
      L = start + T;
    if (base + L * Ckv > K.length) throw new Error(`attention: cache row ${rows[b]} is outside the KV cache`);
    for (let t = 0; t < T; t++) {
      const src = (b * T + t) * ld,
        dst = base + (start + t) * Ckv;
      K.set(x.subarray(src + kBase, src + kBase + Ckv), dst);
      V.set(x.subarray(src + vBase, src + vBase + Ckv), dst);
    }
    if (T === 1 && group > 1) {
      // One token: a group's query heads are contiguous (group, hs) rows that share K_h and V_h, so each
      // key/value head takes two matrix products instead of two per query head (2-4x faster).
      for (let kh = 0; kh < nKv; kh++) {
        const qOff = b * ld + kh * group * hs,
          kvOff = base + kh * hs;
        blas.sgemm(false, true, group, L, hs, scale, x, qOff, hs, K, kvOff, Ckv, 0, S, 0, L);
        for (let r = 0; r < group; r++) prefixSoftmax(S, r * L, L, L);
        blas.sgemm(false, false, group, hs, L, 1, S, 0, L, V, kvOff, Ckv, 0, y.data, b * C + kh * group * hs, hs);
      }
      continue;
    }
    for (let h = 0; h < nHead; h++) {
      const qOff = b * T * ld + h * hs,
        kvOff = base + ((h / group) | 0) * hs;
      // S (T, L) = q_h (T, hs) · K_h (L, hs)ᵀ · scale; for one token as K_h · q_h, which BLAS runs faster.
      if (T === 1) blas.sgemm(false, false, L, 1, hs, scale, K, kvOff, Ckv, x, qOff, 1, 0, S, 0, 1);
      else blas.sgemm(false, true, T, L, hs, scale, x, qOff, ld, K, kvOff, Ckv, 0, S, 0, L);
      for (let t = 0; t < T; t++) prefixSoftmax(S, t * L, start + t + 1, L);
      // out_h (T, hs) = P (T, L) · V_h (L, hs), into the head's slice of y (leading dimension C)
      blas.sgemm(false, false, T, hs, L, 1, S, 0, L, V, kvOff, Ckv, 0, y.data, b * T * C + h * hs, C);
    }
  }
  return y;
}

/** Softmax of a[off … off+n-1] in place; a[off+n … off+L-1] (future positions) become 0. */
function prefixSoftmax(a: Float32Array, off: number, n: number, L: number): void {
  let m = -Infinity;
  for (let j = 0; j < n; j++) if (a[off + j] > m) m = a[off + j];
  let s = 0;
  for (let j = 0; j < n; j++) s += a[off + j] = Math.exp(a[off + j] - m);
  const inv = 1 / s;
  for (let j = 0; j < n; j++) a[off + j] *= inv;
  for (let j = n; j < L; j++) a[off + j] = 0;
}
