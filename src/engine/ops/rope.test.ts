import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllClose } from '../../test-support/assert-close.js';
import { llamaOpsFixture } from '../../test-support/llama-ops-fixture.js';
import { gradCheck } from '../gradcheck.js';
import { Graph } from '../graph.js';
import { RNG } from '../rng.js';
import { Tensor } from '../tensor.js';
import { rope, ropeInvFreq, ropeQKV, ropeTables } from './rope.js';

const rng = new RNG(11);
function rand(shape: number[]): Tensor {
  const t = Tensor.zeros(shape, true);
  rng.fillNormal(t.data);
  return t;
}

describe('rotary embeddings (rotate-half)', () => {
  const hd = 4,
    { cos, sin } = ropeTables(ropeInvFreq(hd, 100), 8);

  it('ropeQKV passes a gradient check for q, k and v, with a different start per row', () => {
    const B = 2,
      T = 3,
      nHead = 4,
      nKvHead = 2;
    const q = rand([B, T, nHead * hd]),
      k = rand([B, T, nKvHead * hd]),
      v = rand([B, T, nKvHead * hd]);
    const starts = Int32Array.from([4, 0]);
    gradCheck((g) => ropeQKV(g, q, k, v, B, T, { nHead, nKvHead, headDim: hd, cos, sin, starts }), [q, k, v]);
  });

  it('rope passes a gradient check and equals the q part of ropeQKV', () => {
    const x = rand([2, 3, 2 * hd]);
    gradCheck((g) => rope(g, x, 2, 3, 2, hd, cos, sin, [1, 5]), [x]);
    const g = Graph.inference();
    const kv = Tensor.zeros([2, 3, hd]);
    const fused = ropeQKV(g, x, kv, kv, 2, 3, { nHead: 2, nKvHead: 1, headDim: hd, cos, sin, starts: 2 });
    const plain = rope(g, x, 2, 3, 2, hd, cos, sin, Int32Array.from([2, 2]));
    for (let r = 0; r < 6; r++)
      assert.deepEqual(
        fused.data.subarray(r * 4 * hd, r * 4 * hd + 2 * hd),
        plain.data.subarray(r * 2 * hd, (r + 1) * 2 * hd),
      );
    g.dispose();
  });

  it("builds Hugging Face's float32 tables, at positions where the angle's rounding matters", () => {
    const f = llamaOpsFixture().rope_tables;
    const inv = ropeInvFreq(f.head_dim, f.theta);
    assertAllClose(inv, f.inv_freq, { rtol: 2e-7 }, 'inv_freq');
    const t = ropeTables(f.inv_freq, f.max_positions);
    const half = f.head_dim / 2;
    f.rows.forEach((p, r) => {
      const want = (xs: number[]) => xs.slice(r * half, (r + 1) * half);
      assertAllClose(t.cos.subarray(p * half, (p + 1) * half), want(f.cos), 1e-6, `cos at position ${p}`);
      assertAllClose(t.sin.subarray(p * half, (p + 1) * half), want(f.sin), 1e-6, `sin at position ${p}`);
    });
  });

  it('matches apply_rotary_pos_emb in PyTorch at offset positions (tests/fixtures/llama-ops.json)', () => {
    const f = llamaOpsFixture().attention;
    const { B, T, head_dim: headDim } = f;
    const q = Tensor.from(f.q, [B, T, f.n_head * headDim]),
      k = Tensor.from(f.k, [B, T, f.n_kv_head * headDim]),
      v = Tensor.from(f.v, [B, T, f.n_kv_head * headDim]);
    const o = {
      nHead: f.n_head,
      nKvHead: f.n_kv_head,
      headDim,
      cos: Float32Array.from(f.cos),
      sin: Float32Array.from(f.sin),
      starts: f.starts,
    };
    const g = Graph.inference();
    const y = ropeQKV(g, q, k, v, B, T, o).data;
    const Wq = f.n_head * headDim,
      Wk = f.n_kv_head * headDim,
      W = Wq + 2 * Wk;
    for (let r = 0; r < B * T; r++) {
      assertAllClose(y.subarray(r * W, r * W + Wq), f.q_rot.slice(r * Wq, (r + 1) * Wq), 1e-6, `q of token ${r}`);
      assertAllClose(
        y.subarray(r * W + Wq, r * W + Wq + Wk),
        f.k_rot.slice(r * Wk, (r + 1) * Wk),
        1e-6,
        `k of token ${r}`,
      );
      assert.deepEqual(
        y.subarray(r * W + Wq + Wk, (r + 1) * W),
        v.data.subarray(r * Wk, (r + 1) * Wk),
        `v of token ${r}`,
      );
    }
    g.dispose();
  });

  it('names positions past the tables, odd head widths and wrong input shapes', () => {
    const g = Graph.inference();
    const x = Tensor.zeros([1, 3, 2 * hd]);
    assert.throws(() => rope(g, x, 1, 3, 2, hd, cos, sin, 6), /positions up to 9 but the rotary tables hold 8/);
    assert.throws(() => rope(g, x, 1, 3, 2, hd, cos, sin, [0, 0]), /2 starts for B=1/);
    assert.throws(
      () => rope(g, Tensor.zeros([1, 3, 6]), 1, 3, 2, 3, cos, sin),
      /headDim must be a positive even number/,
    );
    const o = { nHead: 2, nKvHead: 1, headDim: hd, cos, sin, starts: 0 };
    assert.throws(() => ropeQKV(g, x, x, x, 1, 3, o), /k has shape \[1, 3, 8\], expected \[1, 3, 4\]/);
    assert.throws(() => ropeQKV(g, x, x, x, 1, 3, { ...o, nHead: 3, nKvHead: 2 }), /multiple of nKvHead=2/);
    g.dispose();
  });
});
