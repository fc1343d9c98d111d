// ---- matrix products ----
// Weights use GPT-2's Conv1D layout (in, out): y = x · W + b, so checkpoints need no transposes.

import { loadedDecodeWeights } from '../decode-weights.js';
import { gemm } from '../gemm.js';
import { Graph } from '../graph.js';
import { Tensor } from '../tensor.js';

/**
 * y (N, out) = x (N, in) · W + b, with W of shape (in, out); or, with transW, W of shape
 * (out, in) and y = x · Wᵀ (the tied language-model head: logits = h · wteᵀ).
 * x may have any leading shape; its last dimension is `in`.
 */
export function linear(g: Graph, x: Tensor, w: Tensor, b: Tensor | null = null, transW = false): Tensor {
  const cin = x.shape[x.shape.length - 1];
  const N = x.size / cin;
  const [wr, wc] = w.shape;
  const cout = transW ? wr : wc;
  if (w.shape.length !== 2 || (transW ? wc : wr) !== cin) {
    throw new Error(
      `linear: input has ${cin} features but weight has shape [${w.shape.join(', ')}]${transW ? ' (transposed)' : ''}`,
    );
  }
  if (b && b.size !== cout) throw new Error(`linear: bias has ${b.size} elements, expected ${cout}`);
  const outShape = [...x.shape.slice(0, -1), cout];
  const y = b ? g.output(outShape, x, w, b) : g.output(outShape, x, w);
  const blas = gemm();
  // The bias is broadcast into y first (row copies are memcpy), then the product accumulates.
  if (b) for (let i = 0; i < N; i++) y.data.set(b.data, i * cout);
  // A decode step (a few rows, no gradients) on weights held by the decode kernels: same product, faster.
  if (!g.recording && loadedDecodeWeights()?.multiply(x.data, N, w, transW, y.data, !!b)) return y;
  blas.sgemm(false, transW, N, cout, cin, 1, x.data, 0, cin, w.data, 0, wc, b ? 1 : 0, y.data, 0, cout);
  g.onBackward(y, () => {
    const dy = y.grad!;
    if (x.requiresGrad) {
      // dx (N, in) += dy (N, out) · Wᵀ  [or dy · W when transW]; a first contribution overwrites.
      const first = !x.grad;
      const dx = first ? g.newGrad(x) : x.grad!;
      blas.sgemm(false, !transW, N, cin, cout, 1, dy, 0, cout, w.data, 0, wc, first ? 0 : 1, dx, 0, cin);
    }
    if (w.requiresGrad) {
      if (transW) {
        // dW (out, in) += dyᵀ (out, N) · x (N, in)
        blas.sgemm(true, false, cout, cin, N, 1, dy, 0, cout, x.data, 0, cin, 1, g.gradOf(w), 0, cin);
      } else {
        // dW (in, out) += xᵀ (in, N) · dy (N, out)
        blas.sgemm(true, false, cin, cout, N, 1, x.data, 0, cin, dy, 0, cout, 1, g.gradOf(w), 0, cout);
      }
    }
    if (b?.requiresGrad) {
      // db (out) += dyᵀ · 1: column sums as a matrix-vector product.
      blas.sgemm(true, false, cout, 1, N, 1, dy, 0, cout, onesOf(N), 0, 1, 1, g.gradOf(b), 0, 1);
    }
  });
  return y;
}

const ones = new Map<number, Float32Array>();
/** A cached vector of n ones. */
function onesOf(n: number): Float32Array {
  let v = ones.get(n);
  if (!v) ones.set(n, (v = new Float32Array(n).fill(1)));
  return v;
}

/** Plain 2-D product: C (M, N) = A (M, K) · B (K, N), either side optionally transposed as stored. */
export function matmul(g: Graph, a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error('matmul: both inputs must be 2-D');
  const M = transA ? a.shape[1] : a.shape[0];
  const K = transA ? a.shape[0] : a.shape[1];
  const K2 = transB ? b.shape[1] : b.shape[0];
  const N = transB ? b.shape[0] : b.shape[1];
  if (K !== K2)
    throw new Error(
      `matmul: inner dimensions differ: [${a.shape}]${transA ? 'ᵀ' : ''} · [${b.shape}]${transB ? 'ᵀ' : ''}`,
    );
  const lda = a.shape[1],
    ldb = b.shape[1];
  const c = g.output([M, N], a, b);
  const blas = gemm();
  blas.sgemm(transA, transB, M, N, K, 1, a.data, 0, lda, b.data, 0, ldb, 0, c.data, 0, N);
  g.onBackward(c, () => {
    const dc = c.grad!;
    if (a.requiresGrad) {
      // dA = dC · op(B)ᵀ, stored as op(A) requires: transA → dAᵀ = op(B) · dCᵀ
      if (!transA) blas.sgemm(false, !transB, M, K, N, 1, dc, 0, N, b.data, 0, ldb, 1, g.gradOf(a), 0, lda);
      else blas.sgemm(transB, true, K, M, N, 1, b.data, 0, ldb, dc, 0, N, 1, g.gradOf(a), 0, lda);
    }
    if (b.requiresGrad) {
      // dB = op(A)ᵀ · dC, stored as op(B) requires: transB → dBᵀ = dCᵀ · op(A)
      if (!transB) blas.sgemm(!transA, false, K, N, M, 1, a.data, 0, lda, dc, 0, N, 1, g.gradOf(b), 0, ldb);
      else blas.sgemm(true, transA, N, K, M, 1, dc, 0, N, a.data, 0, lda, 1, g.gradOf(b), 0, ldb);
    }
  });
  return c;
}
