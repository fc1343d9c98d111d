// The WebAssembly SIMD kernels against the JavaScript loops they replace.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck } from './gradcheck.js';
import { Graph } from './graph.js';
import * as ops from './ops/index.js';
import { RNG } from './rng.js';
import { simd } from './simd.js';
import { Tensor } from './tensor.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';

const rng = new RNG(9);
const randn = (n: number, std = 1) => rng.fillNormal(new Float32Array(n), std);

describe('WebAssembly SIMD element-wise kernels', () => {
  it('load on this runtime (Node ≥ 20 has WebAssembly SIMD)', () => {
    assert.ok(simd, 'dist/engine/wasm/elementwise.wasm did not load: run `npm run build`');
  });

  it('GELU and its derivative match the exact formula, at any length', () => {
    for (const n of [1, 3, 4, 7, 1001]) {
      const x = randn(n, 3);
      const y = new Float32Array(n),
        d = new Float32Array(n);
      simd!.gelu(x, y, d);
      const K = Math.sqrt(2 / Math.PI);
      const wantY = Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(K * (v + 0.044715 * v ** 3))));
      const wantD = Array.from(x, (v) => {
        const t = Math.tanh(K * (v + 0.044715 * v ** 3));
        return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * K * (1 + 3 * 0.044715 * v * v);
      });
      assertAllClose(y, wantY, { atol: 1e-6, rtol: 1e-6 }, 'gelu');
      // NOTE: 1 − t² cancels in float32 where |t| → 1; the error there is absolute, not relative.
      assertAllClose(d, wantD, { atol: 3e-6, rtol: 3e-6 }, 'gelu derivative');
    }
  });

  it('causal and plain softmax rows, and the softmax backward', () => {
    const T = 8;
    const a = randn(2 * T * T, 2),
      want = Float32Array.from(a);
    simd!.softmaxRows(a, T, true);
    for (let k = 0; k < 2; k++) {
      for (let i = 0; i < T; i++) {
        const r = (k * T + i) * T;
        const m = Math.max(...want.subarray(r, r + i + 1));
        const z = Array.from(want.subarray(r, r + i + 1), (v) => Math.exp(v - m)).reduce((s, v) => s + v);
        for (let j = 0; j < T; j++) {
          const p = j <= i ? Math.exp(want[r + j] - m) / z : 0;
          assertClose(a[r + j], p, 1e-6, `softmax row ${i} col ${j}`);
        }
      }
    }
    const dP = randn(2 * T * T),
      wantDS = Float32Array.from(dP);
    for (let row = 0; row < 2 * T; row++) {
      const r = row * T,
        i = row % T;
      let s = 0;
      for (let j = 0; j <= i; j++) s += wantDS[r + j] * a[r + j];
      for (let j = 0; j < T; j++) wantDS[r + j] = j <= i ? a[r + j] * (wantDS[r + j] - s) : 0;
    }
    simd!.softmaxBackwardRows(a, dP, T, true);
    assertAllClose(dP, wantDS, { atol: 1e-6, rtol: 1e-6 }, 'dS');
  });

  it('ops on the SIMD path pass the gradient check (attention with T % 4 = 0, layer norm with C % 4 = 0)', () => {
    const B = 2,
      T = 8,
      nh = 2,
      C = 8;
    const qkv = Tensor.from(randn(B * T * 3 * C), [B, T, 3 * C], true);
    gradCheck((g) => ops.causalSelfAttention(g, qkv, B, T, nh), [qkv]);
    const x = Tensor.from(randn(3 * 8, 2), [3, 8], true),
      w = Tensor.from(randn(8, 0.3), [8], true),
      b = Tensor.from(randn(8), [8], true);
    for (let i = 0; i < 8; i++) w.data[i] += 1;
    gradCheck((g) => ops.layerNorm(g, x, w, b), [x, w, b]);
    const v = Tensor.from(randn(12, 2), [12], true);
    gradCheck((g) => ops.gelu(g, v), [v]);
    const z = Tensor.from(randn(3 * 8), [3, 8], true);
    gradCheck((g) => ops.crossEntropy(g, z, Int32Array.from([7, -100, 0])), [z]);
  });

  it('cross-entropy through the SIMD softmax equals the direct formula', () => {
    const z = Tensor.from(randn(2 * 8, 3), [2, 8], true);
    const g = new Graph();
    const loss = ops.crossEntropy(g, z, Int32Array.from([3, 5])).item();
    g.dispose();
    const row = (r: number, t: number) => {
      const xs = Array.from(z.data.subarray(r * 8, r * 8 + 8));
      const m = Math.max(...xs);
      return m + Math.log(xs.reduce((s, v) => s + Math.exp(v - m), 0)) - xs[t];
    };
    assertClose(loss, (row(0, 3) + row(1, 5)) / 2, 1e-5, 'cross-entropy');
  });
});
