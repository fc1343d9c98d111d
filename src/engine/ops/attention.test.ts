// Grouped-query attention with a head width of its own (the Llama family); GPT-2's layout is tested in ops.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllClose } from '../../test-support/assert-close.js';
import { llamaOpsFixture } from '../../test-support/llama-ops-fixture.js';
import { gradCheck } from '../gradcheck.js';
import { Graph } from '../graph.js';
import { RNG } from '../rng.js';
import { Tensor } from '../tensor.js';
import { cachedSelfAttention, causalSelfAttention } from './attention.js';
import { ropeInvFreq, ropeQKV, ropeTables } from './rope.js';

const rng = new RNG(5);
function rand(shape: number[]): Tensor {
  const t = Tensor.zeros(shape, true);
  rng.fillNormal(t.data);
  return t;
}

// nHead 4 over 2 key/value heads of width 8: the head width is not C/nHead for any C = 64 - wide qkv.
const nHead = 4,
  heads = { nKvHead: 2, headDim: 8 },
  W = (nHead + 2 * heads.nKvHead) * heads.headDim;

describe('grouped-query causal self-attention', () => {
  for (const T of [5, 4]) {
    it(`passes a gradient check (nHead 4, nKvHead 2, headDim 8, T=${T})`, () => {
      const qkv = rand([2, T, W]);
      gradCheck((g) => causalSelfAttention(g, qkv, 2, T, nHead, heads), [qkv]);
    });
  }

  it("with nKvHead = nHead and headDim = C/nHead is GPT-2's attention, values and gradients", () => {
    const B = 2,
      T = 6,
      C = 12;
    const qkv = rand([B, T, 3 * C]);
    const dy = rand([B, T, C]).data;
    const run = (h?: { nKvHead: number; headDim: number }) => {
      const g = new Graph();
      const y = causalSelfAttention(g, qkv, B, T, 3, h);
      const out = Float32Array.from(y.data);
      g.backwardFrom(y, dy);
      const grad = Float32Array.from(qkv.grad!);
      qkv.grad = null;
      g.dispose();
      return { out, grad };
    };
    const plain = run(),
      grouped = run({ nKvHead: 3, headDim: 4 });
    assert.deepEqual(grouped.out, plain.out);
    assert.deepEqual(grouped.grad, plain.grad);
  });

  it('matches RoPE + repeat_kv + causal softmax attention in PyTorch, values and gradients (llama-ops.json)', () => {
    const f = llamaOpsFixture().attention;
    const { B, T, head_dim: headDim } = f;
    const q = Tensor.from(f.q, [B, T, f.n_head * headDim], true),
      k = Tensor.from(f.k, [B, T, f.n_kv_head * headDim], true),
      v = Tensor.from(f.v, [B, T, f.n_kv_head * headDim], true);
    const o = { nHead: f.n_head, nKvHead: f.n_kv_head, headDim, starts: f.starts };
    const g = new Graph();
    const qkv = ropeQKV(g, q, k, v, B, T, { ...o, cos: Float32Array.from(f.cos), sin: Float32Array.from(f.sin) });
    const y = causalSelfAttention(g, qkv, B, T, f.n_head, { nKvHead: f.n_kv_head, headDim });
    const tol = { atol: 1e-5, rtol: 1e-5 };
    assertAllClose(y.data, f.out, tol, 'out');
    g.backwardFrom(y, Float32Array.from(f.dy));
    assertAllClose(q.grad!, f.grad_q, tol, 'dq');
    assertAllClose(k.grad!, f.grad_k, tol, 'dk (summed over the group)');
    assertAllClose(v.grad!, f.grad_v, tol, 'dv (summed over the group)');
    g.dispose();
  });

  it('names a qkv width that does not match the heads', () => {
    const g = Graph.inference();
    const qkv = Tensor.zeros([1, 2, W + 8]);
    assert.throws(() => causalSelfAttention(g, qkv, 1, 2, nHead, heads), /expected \[1, 2, .* = 64\]/);
    assert.throws(
      () => causalSelfAttention(g, qkv, 1, 2, 3, { nKvHead: 2, headDim: 8 }),
      /multiple of heads.nKvHead=2/,
    );
    g.dispose();
  });
});

describe('grouped-query attention over a KV cache', () => {
  it('equals causal attention on the whole sequence, token by token, rows at different positions', () => {
    const hd = heads.headDim,
      Wq = nHead * hd,
      Wk = heads.nKvHead * hd,
      Tmax = 8;
    const { cos, sin } = ropeTables(ropeInvFreq(hd), Tmax);
    const lengths = [7, 4];
    const seqs = lengths.map((T) => ({ T, q: rand([1, T, Wq]), k: rand([1, T, Wk]), v: rand([1, T, Wk]) }));
    const o = { nHead, nKvHead: heads.nKvHead, headDim: hd, cos, sin };
    const g = Graph.inference();
    const want = seqs.map((s) => {
      const qkv = ropeQKV(g, s.q, s.k, s.v, 1, s.T, { ...o, starts: 0 });
      return causalSelfAttention(g, qkv, 1, s.T, nHead, heads).data;
    });
    // Tokens [from, from + n) of each listed sequence, as a (B, n, width) batch.
    const tokens = (which: number[], from: number[], n: number, part: 'q' | 'k' | 'v', w: number) => {
      const out = new Tensor(new Float32Array(which.length * n * w), [which.length, n, w]);
      which.forEach((s, b) => out.data.set(seqs[s][part].data.subarray(from[b] * w, (from[b] + n) * w), b * n * w));
      return out;
    };
    // Sequence 0 lives in cache row 2, sequence 1 in row 0; row 1 stays empty.
    const kv = { k: new Float32Array(3 * Tmax * Wk), v: new Float32Array(3 * Tmax * Wk), Tmax };
    const step = (which: number[], rows: number[], starts: Int32Array, n: number) => {
      const qkv = ropeQKV(
        g,
        tokens(which, Array.from(starts), n, 'q', Wq),
        tokens(which, Array.from(starts), n, 'k', Wk),
        tokens(which, Array.from(starts), n, 'v', Wk),
        which.length,
        n,
        { ...o, starts },
      );
      const y = cachedSelfAttention(g, qkv, which.length, n, nHead, kv, rows, starts, heads).data;
      which.forEach((s, b) => {
        const got = y.subarray(b * n * Wq, (b + 1) * n * Wq);
        const ref = want[s].subarray(starts[b] * Wq, (starts[b] + n) * Wq);
        assertAllClose(got, ref, 1e-5, `sequence ${s}, tokens ${starts[b]}…${starts[b] + n - 1}`);
      });
    };
    // Sequence 0's first three tokens at once, then one token of both sequences per step.
    step([0], [2], Int32Array.from([0]), 3);
    for (let t = 0; t < 4; t++) step([0, 1], [2, 0], Int32Array.from([3 + t, t]), 1);
    assert.ok(
      kv.k.subarray(Tmax * Wk, 2 * Tmax * Wk).every((x) => x === 0),
      'cache row 1 is untouched',
    );
    const wide = { k: new Float32Array(3 * Tmax * 2 * Wk), v: new Float32Array(3 * Tmax * Wk), Tmax };
    const qkv = Tensor.zeros([1, 1, W]);
    assert.throws(
      () => cachedSelfAttention(g, qkv, 1, 1, nHead, wide, [0], [0], heads),
      /holds 768 keys and 384 values, not rows × Tmax \(8\) × 16/,
    );
    g.dispose();
  });
});
