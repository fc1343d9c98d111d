// Products of a few rows of activations with a weight matrix kept in this module's memory: the decode step of
// sampling, where each new token is one row per sequence and the whole model's weights are read once per step.
//
// C[M×N] = beta·C + A[M×K]·Bᵀ with B stored N×K (torch.nn.Linear's layout), as float32 (gemvF32) or as
// bfloat16 (gemvBf16: the upper halves of float32s, so widening is a shuffle with zeros). The arguments are
// the sgemm export's (threads.ts slices them the same way); transA, transB, alpha and work are unused: the
// host only sends A untransposed, B as N×K and alpha = 1. beta is 0 or 1.
//
// NOTE: each weight is loaded once for four rows of A, so at M = 4 a step is bound by the multiply-adds
// (no fused multiply-add in baseline SIMD), not by memory; bfloat16 halves the bytes and the memory used.

@inline
function widenLo(v: v128, z: v128): v128 {
  return v128.shuffle<i16>(z, v, 0, 8, 1, 9, 2, 10, 3, 11);
}

@inline
function widenHi(v: v128, z: v128): v128 {
  return v128.shuffle<i16>(z, v, 4, 12, 5, 13, 6, 14, 7, 15);
}

@inline
function hsum(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
}

/** Weight k of the row at w: W = f32, or u16 holding bfloat16 (the upper half of a float32). */
@inline
function weightAt<W>(w: usize, k: i32): f32 {
  if (isInteger<W>()) return reinterpret<f32>(<u32>load<u16>(w + (<usize>k << 1)) << 16);
  return load<f32>(w + (<usize>k << 2));
}

@inline
function put(p: usize, v: f32, beta: f32): void {
  store<f32>(p, beta == 0 ? v : load<f32>(p) + v);
}

/** The product for weights of type W (resolved at compile time: no branch in the loops). */
@inline
function gemv<W>(M: i32, N: i32, K: i32, a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32): void {
  const K8 = K & ~7;
  const z = i32x4.splat(0);
  const row = <usize>ldb * sizeof<W>();
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const a0 = a + (<usize>(m * lda) << 2);
    const a1 = a0 + (<usize>lda << 2), a2 = a1 + (<usize>lda << 2), a3 = a2 + (<usize>lda << 2);
    const c0 = c + (<usize>(m * ldc) << 2), ld = <usize>ldc << 2;
    for (let n = 0; n < N; n++) {
      const w = b + <usize>n * row;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let k = 0; k < K8; k += 8) {
        let lo: v128, hi: v128;
        if (isInteger<W>()) {
          const v = v128.load(w + (<usize>k << 1));
          lo = widenLo(v, z);
          hi = widenHi(v, z);
        } else {
          lo = v128.load(w + (<usize>k << 2));
          hi = v128.load(w + (<usize>k << 2) + 16);
        }
        const o = <usize>k << 2;
        s0 = f32x4.add(s0, f32x4.add(f32x4.mul(lo, v128.load(a0 + o)), f32x4.mul(hi, v128.load(a0 + o + 16))));
        s1 = f32x4.add(s1, f32x4.add(f32x4.mul(lo, v128.load(a1 + o)), f32x4.mul(hi, v128.load(a1 + o + 16))));
        s2 = f32x4.add(s2, f32x4.add(f32x4.mul(lo, v128.load(a2 + o)), f32x4.mul(hi, v128.load(a2 + o + 16))));
        s3 = f32x4.add(s3, f32x4.add(f32x4.mul(lo, v128.load(a3 + o)), f32x4.mul(hi, v128.load(a3 + o + 16))));
      }
      let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
      for (let k = K8; k < K; k++) {
        const x = weightAt<W>(w, k), o = <usize>k << 2;
        t0 += x * load<f32>(a0 + o);
        t1 += x * load<f32>(a1 + o);
        t2 += x * load<f32>(a2 + o);
        t3 += x * load<f32>(a3 + o);
      }
      const p = c0 + (<usize>n << 2);
      put(p, t0, beta);
      put(p + ld, t1, beta);
      put(p + 2 * ld, t2, beta);
      put(p + 3 * ld, t3, beta);
    }
  }
  for (; m < M; m++) {
    const a0 = a + (<usize>(m * lda) << 2);
    const c0 = c + (<usize>(m * ldc) << 2);
    for (let n = 0; n < N; n++) {
      const w = b + <usize>n * row;
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      for (let k = 0; k < K8; k += 8) {
        let lo: v128, hi: v128;
        if (isInteger<W>()) {
          const v = v128.load(w + (<usize>k << 1));
          lo = widenLo(v, z);
          hi = widenHi(v, z);
        } else {
          lo = v128.load(w + (<usize>k << 2));
          hi = v128.load(w + (<usize>k << 2) + 16);
        }
        const o = <usize>k << 2;
        s0 = f32x4.add(s0, f32x4.mul(lo, v128.load(a0 + o)));
        s1 = f32x4.add(s1, f32x4.mul(hi, v128.load(a0 + o + 16)));
      }
      let t0 = hsum(f32x4.add(s0, s1));
      for (let k = K8; k < K; k++) t0 += weightAt<W>(w, k) * load<f32>(a0 + (<usize>k << 2));
      put(c0 + (<usize>n << 2), t0, beta);
    }
  }
}

export function gemvF32(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, work: usize,
): void {
  gemv<f32>(M, N, K, a, lda, b, ldb, beta, c, ldc);
}

export function gemvBf16(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, work: usize,
): void {
  gemv<u16>(M, N, K, a, lda, b, ldb, beta, c, ldc);
}
