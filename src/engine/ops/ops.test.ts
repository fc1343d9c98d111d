import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck } from '../gradcheck.js';
import { Graph } from '../graph.js';
import { RNG } from '../rng.js';
import { Tensor } from '../tensor.js';
import * as ops from './index.js';
import { assertAllClose, assertClose } from '../../test-support/assert-close.js';

const rng = new RNG(42);
function rand(shape: number[], std = 1, mean = 0): Tensor {
  const t = Tensor.zeros(shape, true);
  rng.fillNormal(t.data, std, mean);
  return t;
}

describe('gradient checks (finite differences)', () => {
  it('linear', () => {
    const x = rand([5, 4]),
      w = rand([4, 3]),
      b = rand([3]);
    gradCheck((g) => ops.linear(g, x, w, b), [x, w, b]);
  });
  it('linear with transposed weight (tied head)', () => {
    const x = rand([5, 4]),
      w = rand([7, 4]);
    gradCheck((g) => ops.linear(g, x, w, null, true), [x, w]);
  });
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matmul transA=${ta} transB=${tb}`, () => {
      const a = rand(ta ? [4, 3] : [3, 4]),
        b = rand(tb ? [5, 4] : [4, 5]);
      gradCheck((g) => ops.matmul(g, a, b, ta, tb), [a, b]);
    });
  }
  it('add, sub, mul, affine', () => {
    const a = rand([6]),
      b = rand([6]);
    gradCheck((g) => ops.add(g, a, b), [a, b]);
    gradCheck((g) => ops.sub(g, a, b), [a, b]);
    gradCheck((g) => ops.mul(g, a, b), [a, b]);
    gradCheck((g) => ops.affine(g, a, -1.5, 2), [a]);
  });
  it('exp, log, sigmoid, logSigmoid, tanh, square', () => {
    const a = rand([8]);
    const pos = rand([8], 0.2, 2);
    gradCheck((g) => ops.exp(g, a), [a]);
    gradCheck((g) => ops.log(g, pos), [pos]);
    gradCheck((g) => ops.sigmoid(g, a), [a]);
    gradCheck((g) => ops.logSigmoid(g, a), [a]);
    gradCheck((g) => ops.tanh(g, a), [a]);
    gradCheck((g) => ops.square(g, a), [a]);
  });
  it('gelu (tanh form), over the range where the fast tanh switches form', () => {
    const a = Tensor.from([-6, -3.2, -2.9, -1, -0.1, 0, 0.3, 1.7, 2.95, 3.05, 5], undefined, true);
    gradCheck((g) => ops.gelu(g, a), [a]);
    const b = rand([32], 2);
    gradCheck((g) => ops.gelu(g, b), [b]);
  });
  it('sum, mean, dot, reshape, selectRows', () => {
    const a = rand([3, 4]);
    gradCheck((g) => ops.sum(g, a), [a]);
    gradCheck((g) => ops.mean(g, a), [a]);
    gradCheck((g) => ops.dot(g, a, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), [a]);
    gradCheck((g) => ops.reshape(g, a, [4, 3]), [a]);
    gradCheck((g) => ops.selectRows(g, a, [2, 0, 2]), [a]);
  });
  it('layerNorm', () => {
    const x = rand([4, 6], 2, 0.5),
      w = rand([6], 0.3, 1),
      b = rand([6], 0.3);
    gradCheck((g) => ops.layerNorm(g, x, w, b), [x, w, b]);
  });
  it('causal self-attention', () => {
    const B = 2,
      T = 5,
      nh = 2,
      C = 4;
    const qkv = rand([B, T, 3 * C]);
    gradCheck((g) => ops.causalSelfAttention(g, qkv, B, T, nh), [qkv]);
  });
  it('embedding (scatter-add gradient, repeated ids)', () => {
    const wte = rand([6, 3]),
      wpe = rand([5, 3]);
    const ids = Int32Array.from([1, 4, 1, 0, 5, 1]);
    gradCheck((g) => ops.embed(g, ids, 2, 3, wte, wpe, 1), [wte, wpe]);
  });
  it('crossEntropy with ignored targets', () => {
    const z = rand([4, 7]);
    gradCheck((g) => ops.crossEntropy(g, z, Int32Array.from([3, -100, 0, 6])), [z]);
  });
  it('crossEntropy with row weights', () => {
    const z = rand([3, 5]);
    gradCheck((g) => ops.crossEntropy(g, z, Int32Array.from([1, 4, -100]), [0.5, 2, 7]), [z]);
  });
  it('tokenLogProbs, entropy, logSoftmax', () => {
    const z = rand([3, 5]);
    gradCheck((g) => ops.tokenLogProbs(g, z, Int32Array.from([4, -100, 1])), [z]);
    gradCheck((g) => ops.entropy(g, z), [z]);
    gradCheck((g) => ops.logSoftmax(g, z), [z]);
  });
});

describe('forward values', () => {
  it('attention equals a direct computation', () => {
    const B = 1,
      T = 3,
      nh = 1,
      C = 2;
    const qkv = rand([B, T, 3 * C]);
    const g = Graph.inference();
    const y = ops.causalSelfAttention(g, qkv, B, T, nh);
    const x = qkv.data;
    for (let i = 0; i < T; i++) {
      const s: number[] = [];
      for (let j = 0; j <= i; j++) s.push((x[i * 6] * x[j * 6 + 2] + x[i * 6 + 1] * x[j * 6 + 3]) / Math.sqrt(2));
      const m = Math.max(...s),
        e = s.map((v) => Math.exp(v - m)),
        z = e.reduce((a, b) => a + b);
      for (let c = 0; c < 2; c++) {
        const want = e.reduce((acc, p, j) => acc + (p / z) * x[j * 6 + 4 + c], 0);
        assertClose(y.data[i * 2 + c], want, 1e-5, `attention row ${i} col ${c}`);
      }
    }
    g.dispose();
  });
  it('attention over a KV cache equals causal attention, fed in pieces into permuted cache rows', () => {
    const B = 2,
      T = 7,
      nh = 3,
      C = 6,
      Tmax = 9;
    const qkv = rand([B, T, 3 * C]);
    const g = Graph.inference();
    const want = ops.causalSelfAttention(g, qkv, B, T, nh).data;
    const kv = { k: new Float32Array(3 * Tmax * C), v: new Float32Array(3 * Tmax * C), Tmax };
    const rows = [2, 0];
    // Tokens 0-2 of both sequences at once, then token 3 alone, then tokens 4-6.
    let t0 = 0;
    for (const n of [3, 1, 3]) {
      const part = new Tensor(new Float32Array(B * n * 3 * C), [B, n, 3 * C]);
      for (let b = 0; b < B; b++)
        part.data.set(qkv.data.subarray((b * T + t0) * 3 * C, (b * T + t0 + n) * 3 * C), b * n * 3 * C);
      const y = ops.cachedSelfAttention(g, part, B, n, nh, kv, rows, [t0, t0]).data;
      for (let b = 0; b < B; b++)
        for (let i = 0; i < n * C; i++) {
          const w = want[(b * T + t0) * C + i];
          assert.ok(
            Math.abs(y[b * n * C + i] - w) < 1e-5,
            `piece at ${t0}, row ${b}, ${i}: ${y[b * n * C + i]} vs ${w}`,
          );
        }
      t0 += n;
    }
    assert.ok(
      kv.k.subarray(Tmax * C, 2 * Tmax * C).every((v) => v === 0),
      'cache row 1 is untouched',
    );
    const plain = new Tensor(qkv.data, qkv.shape);
    assert.throws(() => ops.cachedSelfAttention(g, plain, B, T, nh, kv, rows, [3, 0]), /positions up to 10 .* holds 9/);
    assert.throws(() => ops.cachedSelfAttention(g, qkv, B, T, nh, kv, rows, [0, 0]), /no backward/);
    g.dispose();
  });
  it('crossEntropy of uniform logits is log V', () => {
    const g = Graph.inference();
    const z = Tensor.zeros([2, 10]);
    assertClose(ops.crossEntropy(g, z, Int32Array.from([3, 7])).item(), Math.log(10), 1e-6, 'cross-entropy');
    g.dispose();
  });
  it('logSigmoid is stable for large inputs', () => {
    const g = Graph.inference();
    const y = ops.logSigmoid(g, Tensor.from([-1000, 1000, 0]));
    assertClose(y.data[0], -1000, 1e-3, 'logSigmoid(−1000)');
    assertAllClose(y.data.subarray(1), [0, -Math.LN2], 1e-6, 'logSigmoid([1000, 0])');
    g.dispose();
  });
  it('an inference graph records nothing and refuses backward', () => {
    const g = Graph.inference();
    const a = rand([3]);
    const y = ops.sum(g, ops.exp(g, a));
    assert.equal(y.requiresGrad, false);
    assert.throws(() => g.backward(y), /inference graph/);
    g.dispose();
  });
});

describe('graph', () => {
  it("backward skips ops that are not on the loss's path", () => {
    const a = rand([4]);
    const g = new Graph();
    ops.sum(g, ops.exp(g, a)); // computed, never used
    const loss = ops.sum(g, ops.square(g, a));
    g.backward(loss);
    assertAllClose(
      a.grad!,
      Array.from(a.data, (v) => 2 * v),
      1e-5,
      'grad',
    );
    g.dispose();
  });
});
