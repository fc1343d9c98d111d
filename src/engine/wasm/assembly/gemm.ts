// Single-precision GEMM for WebAssembly SIMD, written in AssemblyScript (compiled by scripts/build-wasm.mjs).
//
// Row-major C[M×N] = alpha·op(A)[M×K]·op(B)[K×N] + beta·C on operands the host has already copied into
// this module's linear memory. Pointers are byte addresses; leading dimensions are in elements.
//
// The structure is GotoBLAS/BLIS: B is packed into KC×NC blocks of NR-column micro-panels, A into MC×KC
// blocks of MR-row micro-panels, and a register-blocked MR×NR micro-kernel streams through them. Packing
// absorbs the transposes, so the kernel only ever sees one layout.

// NOTE: the tile is sized for V8's register allocator, not for the ISA. x64 has 16 xmm registers and V8
// keeps one as scratch; a 4×8 tile (8 accumulators, 2 B vectors, 4 broadcasts of A, 1 product) stays in
// registers. 5×8, 6×8, 4×12 and 3×16 tiles made V8 spill accumulators to the stack inside the loop and
// measured 15-35% slower (with and without FMA), and unrolling the k loop spilled too.
// The decode-step products on weights kept in this memory (gemv.ts) ship in the same module and threads.
export { gemvF32, gemvBf16 } from './gemv';

const MR = 4;
const NR = 8;
// KC·NR floats of B (8 KB) stay in L1 across the MR-panels of A; MC·KC floats of A (96 KB) stay in L2.
const KC = 256;
const MC = 96; // a multiple of MR
const NC = 2048; // a multiple of NR

/** First byte of linear memory the host may use: everything above the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}

/** Bytes of scratch `sgemm` needs at `work` (packed A block, packed B block, one edge tile). */
export function workBytes(): usize {
  return <usize>(MC * KC + KC * NC + MR * NR) << 2;
}

export function sgemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  a: usize, lda: i32, b: usize, ldb: i32, beta: f32, c: usize, ldc: i32, work: usize,
): void {
  if (M <= 0 || N <= 0) return;
  scaleC(M, N, beta, c, ldc);
  if (K <= 0 || alpha == 0) return;

  const ap = work;
  const bp = ap + (<usize>(MC * KC) << 2);
  const tile = bp + (<usize>(KC * NC) << 2);
  // Equal K blocks, so K = 300 runs as 150 + 150 rather than 256 + 44.
  const kBlocks = (K + KC - 1) / KC;
  const kcMax = (K + kBlocks - 1) / kBlocks;

  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += kcMax) {
      const kc = min(kcMax, K - pc);
      packB(transB, b, ldb, pc, jc, kc, nc, bp);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(transA, a, lda, ic, pc, mc, kc, ap);
        macroKernel(mc, nc, kc, alpha, ap, bp, c + (<usize>(ic * ldc + jc) << 2), ldc, tile);
      }
    }
  }
}

// ---- C = beta·C (beta = 0 writes zeros, so NaN or garbage already in C never leaks through) ----

function scaleC(M: i32, N: i32, beta: f32, c: usize, ldc: i32): void {
  if (beta == 1) return;
  const vb = f32x4.splat(beta);
  for (let i = 0; i < M; i++) {
    const row = c + (<usize>(i * ldc) << 2);
    if (beta == 0) {
      memory.fill(row, 0, <usize>N << 2);
      continue;
    }
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const p = row + (<usize>j << 2);
      v128.store(p, f32x4.mul(v128.load(p), vb));
    }
    for (; j < N; j++) {
      const p = row + (<usize>j << 2);
      store<f32>(p, load<f32>(p) * beta);
    }
  }
}

// ---- packing: op(A) block → MR-row panels laid out [k][r]; op(B) block → NR-column panels laid out [k][j] ----

function packA(transA: i32, a: usize, lda: i32, ic: i32, pc: i32, mc: i32, kc: i32, ap: usize): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const mr = min(MR, mc - i0);
    const panel = ap + (<usize>(i0 * kc) << 2);
    if (mr < MR) memory.fill(panel, 0, <usize>(MR * kc) << 2);
    if (transA) {
      // op(A)[i][k] = A[k][i]: the MR values for one k are contiguous in A.
      for (let k = 0; k < kc; k++) {
        const src = a + (<usize>((pc + k) * lda + ic + i0) << 2);
        const dst = panel + (<usize>(k * MR) << 2);
        if (mr == MR) {
          v128.store(dst, v128.load(src)); // MR = 4 floats = one v128
        } else {
          for (let r = 0; r < mr; r++) store<f32>(dst + (<usize>r << 2), load<f32>(src + (<usize>r << 2)));
        }
      }
    } else {
      for (let r = 0; r < mr; r++) {
        const src = a + (<usize>((ic + i0 + r) * lda + pc) << 2);
        const dst = panel + (<usize>r << 2);
        for (let k = 0; k < kc; k++) {
          store<f32>(dst + (<usize>(k * MR) << 2), load<f32>(src + (<usize>k << 2)));
        }
      }
    }
  }
}

function packB(transB: i32, b: usize, ldb: i32, pc: i32, jc: i32, kc: i32, nc: i32, bp: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min(NR, nc - j0);
    const panel = bp + (<usize>(j0 * kc) << 2);
    if (nr < NR) memory.fill(panel, 0, <usize>(NR * kc) << 2);
    if (transB) {
      // op(B)[k][j] = B[j][k]: walk each stored row of B contiguously.
      for (let j = 0; j < nr; j++) {
        const src = b + (<usize>((jc + j0 + j) * ldb + pc) << 2);
        const dst = panel + (<usize>j << 2);
        for (let k = 0; k < kc; k++) {
          store<f32>(dst + (<usize>(k * NR) << 2), load<f32>(src + (<usize>k << 2)));
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const src = b + (<usize>((pc + k) * ldb + jc + j0) << 2);
        const dst = panel + (<usize>(k * NR) << 2);
        if (nr == NR) {
          v128.store(dst, v128.load(src));
          v128.store(dst, v128.load(src, 16), 16);
        } else {
          for (let j = 0; j < nr; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
        }
      }
    }
  }
}

// ---- macro-kernel: every MR×NR tile of one packed block; edge tiles go through a scratch tile ----

function macroKernel(
  mc: i32, nc: i32, kc: i32, alpha: f32, ap: usize, bp: usize, c: usize, ldc: i32, tile: usize,
): void {
  const ldcBytes = <usize>ldc << 2;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min(NR, nc - j0);
    const bPanel = bp + (<usize>(j0 * kc) << 2);
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const mr = min(MR, mc - i0);
      const aPanel = ap + (<usize>(i0 * kc) << 2);
      const cTile = c + <usize>i0 * ldcBytes + (<usize>j0 << 2);
      if (mr == MR && nr == NR) {
        kernel4x8(kc, aPanel, bPanel, cTile, ldcBytes, alpha);
      } else {
        memory.fill(tile, 0, MR * NR * 4);
        kernel4x8(kc, aPanel, bPanel, tile, NR * 4, alpha);
        for (let r = 0; r < mr; r++) {
          for (let j = 0; j < nr; j++) {
            const p = cTile + <usize>r * ldcBytes + (<usize>j << 2);
            store<f32>(p, load<f32>(p) + load<f32>(tile + (<usize>(r * NR + j) << 2)));
          }
        }
      }
    }
  }
}

// ---- micro-kernel: C[4×8] += alpha · Ap[4×kc] · Bp[kc×8], accumulators held in 8 f32x4 registers ----

function kernel4x8(kc: i32, a: usize, b: usize, c: usize, ldc: usize, alpha: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(a, 4);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(a, 8);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(a, 12);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    a += MR * 4;
    b += NR * 4;
  }
  const va = f32x4.splat(alpha);
  addRow(c, c00, c01, va);
  addRow(c + ldc, c10, c11, va);
  addRow(c + 2 * ldc, c20, c21, va);
  addRow(c + 3 * ldc, c30, c31, va);
}

// x·y + acc. The relaxed-SIMD build (Node >= 22, or Node 20 with --experimental-wasm-relaxed-simd) gets a
// fused multiply-add, ~30% faster here; the baseline build multiplies and adds.
// @ts-ignore: decorator
@inline
function madd(x: v128, y: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, y, acc);
  return f32x4.add(acc, f32x4.mul(x, y));
}

// @ts-ignore: decorator
@inline
function addRow(p: usize, lo: v128, hi: v128, va: v128): void {
  v128.store(p, f32x4.add(v128.load(p), f32x4.mul(va, lo)));
  v128.store(p, f32x4.add(v128.load(p, 16), f32x4.mul(va, hi)), 16);
}
