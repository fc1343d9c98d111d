import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllClose, assertClose } from '../../test-support/assert-close.js';
import { gradCheck } from '../gradcheck.js';
import { Graph } from '../graph.js';
import { RNG } from '../rng.js';
import { Tensor } from '../tensor.js';
import * as ops from './index.js';

const rng = new RNG(7);
function rand(shape: number[], std = 1): Tensor {
  const t = Tensor.zeros(shape, true);
  rng.fillNormal(t.data, std);
  return t;
}

/** The unfused path: logits = h · Wᵀ, tempered and masked as policyLogits does, then tokenLogProbs. */
function unfusedLogits(g: Graph, h: Tensor, W: Tensor, temperature: number, vocabSize: number): Tensor {
  const z = ops.linear(g, h, W, null, true);
  const V = W.shape[0];
  return temperature === 1 && vocabSize >= V ? z : ops.scaleAndMaskColumns(g, z, 1 / temperature, vocabSize);
}

/** Gradients of Σ wᵢ·outᵢ with respect to h and W. */
function grads(fn: (g: Graph) => Tensor, h: Tensor, W: Tensor, w: Float32Array): [Float32Array, Float32Array] {
  h.grad = W.grad = null;
  const g = new Graph();
  g.backward(ops.dot(g, fn(g), w));
  const out: [Float32Array, Float32Array] = [Float32Array.from(h.grad!), Float32Array.from(W.grad!)];
  g.dispose();
  h.grad = W.grad = null;
  return out;
}

// 7 rows (chunks of 3: 3 + 3 + 1), V = 9 with the last 2 ids masked, targets ignored and one masked.
const N = 7,
  C = 5,
  V = 9;
const targets = Int32Array.from([3, -100, 0, 6, 8, -1, 2]);
const o = { temperature: 0.7, vocabSize: 7, chunkRows: 3 };

describe('lmHeadLogProbs', () => {
  it('gradient check for h and W (temperature, masked ids, ignored targets, uneven chunks)', () => {
    const h = rand([N, C]),
      W = rand([V, C]);
    gradCheck((g) => ops.lmHeadLogProbs(g, h, W, Int32Array.from([3, -100, 0, 6, 5, -1, 2]), o), [h, W]);
  });

  it('gradient check with W stored (C, V)', () => {
    const h = rand([N, C]),
      W = rand([C, V]);
    const t = Int32Array.from([3, -100, 0, 6, 5, -1, 2]);
    gradCheck((g) => ops.lmHeadLogProbs(g, h, W, t, { ...o, transposedW: true }), [h, W]);
  });

  it('gradient check of log-probs and entropy together', () => {
    const h = rand([N, C]),
      W = rand([V, C]);
    const t = Int32Array.from([3, -100, 0, 6, 5, -1, 2]);
    gradCheck(
      (g) => {
        const r = ops.lmHeadLogProbsAndEntropy(g, h, W, t, o);
        return ops.add(g, r.logp, ops.affine(g, r.entropy, 0.5));
      },
      [h, W],
    );
  });

  it('equals the unfused path in value and gradient, for every chunk size', () => {
    const h = rand([2, 4, C]),
      W = rand([V, C]);
    const t = Int32Array.from([3, -100, 0, 6, 8, -1, 2, 1]);
    const w = rng.fillNormal(new Float32Array(8));
    for (const [temperature, vocabSize] of [
      [1, V],
      [0.7, 7],
      [1.3, V],
    ]) {
      const ref = (g: Graph) => ops.tokenLogProbs(g, unfusedLogits(g, h, W, temperature, vocabSize), t);
      const g = Graph.inference();
      const want = Float32Array.from(ref(g).data);
      g.dispose();
      const [dhWant, dWWant] = grads(ref, h, W, w);
      for (const chunkRows of [1, 3, 8, 100, undefined]) {
        const fused = (g: Graph) => ops.lmHeadLogProbs(g, h, W, t, { temperature, vocabSize, chunkRows });
        const g2 = Graph.inference();
        const got = fused(g2);
        assert.deepEqual(got.shape, [8]);
        assertAllClose(got.data, want, 1e-5, `log-probs (T=${temperature}, vocab ${vocabSize}, chunk ${chunkRows})`);
        g2.dispose();
        const [dh, dW] = grads(fused, h, W, w);
        assertAllClose(dh, dhWant, 1e-5, 'dh');
        assertAllClose(dW, dWWant, 1e-5, 'dW');
      }
    }
  });

  it('entropy equals ops.entropy of the tempered, masked logits on rows with a target', () => {
    const h = rand([N, C]),
      W = rand([V, C]);
    const g = Graph.inference();
    const want = ops.entropy(g, unfusedLogits(g, h, W, 0.7, 7)).data;
    const got = ops.lmHeadLogProbsAndEntropy(g, h, W, targets, o).entropy.data;
    for (let i = 0; i < N; i++) assertClose(got[i], targets[i] >= 0 ? want[i] : 0, 1e-5, `entropy row ${i}`);
    g.dispose();
  });

  it('a frozen W gets no gradient; ignored rows get none either', () => {
    const h = rand([N, C]),
      W = new Tensor(rng.fillNormal(new Float32Array(V * C)), [V, C], false);
    const g = new Graph();
    g.backward(ops.sum(g, ops.lmHeadLogProbs(g, h, W, targets, o)));
    assert.equal(W.grad, null);
    for (const i of [1, 5]) assert.ok(h.grad!.subarray(i * C, i * C + C).every((x) => x === 0));
    assert.ok(h.grad!.some((x) => x !== 0));
    g.dispose();
  });

  it('names what is wrong', () => {
    const g = Graph.inference();
    const h = rand([2, C]);
    assert.throws(() => ops.lmHeadLogProbs(g, h, rand([V, C + 1]), Int32Array.from([0, 1])), /5 features.*\[9, 6\]/);
    assert.throws(() => ops.lmHeadLogProbs(g, h, rand([V, C]), Int32Array.from([0])), /1 targets for 2 rows/);
    assert.throws(() => ops.lmHeadLogProbs(g, h, rand([V, C]), Int32Array.from([0, 9])), /target 9 at row 1/);
    assert.throws(() => ops.lmHeadLogProbs(g, h, rand([V, C]), Int32Array.from([0, 1]), { temperature: 0 }), /> 0/);
    g.dispose();
  });
});

describe('lmHeadCrossEntropy', () => {
  it('equals crossEntropy of the logits, with and without weights', () => {
    const h = rand([N, C]),
      W = rand([V, C]);
    for (const weights of [undefined, [0.5, 2, 7, 1, 0, 3, 0.25]]) {
      const ref = (g: Graph) => ops.crossEntropy(g, ops.linear(g, h, W, null, true), targets, weights);
      const fused = (g: Graph) => ops.lmHeadCrossEntropy(g, h, W, targets, weights, { chunkRows: 2 });
      const g = Graph.inference();
      assertClose(fused(g).item(), ref(g).item(), 1e-5, 'loss');
      g.dispose();
      const one = Float32Array.of(1);
      const [dh, dW] = grads(fused, h, W, one);
      const [dhWant, dWWant] = grads(ref, h, W, one);
      assertAllClose(dh, dhWant, 1e-5, 'dh');
      assertAllClose(dW, dWWant, 1e-5, 'dW');
    }
  });

  it('is 0 with no gradient when no row has a target', () => {
    const h = rand([2, C]),
      W = rand([V, C]);
    const g = new Graph();
    const loss = ops.lmHeadCrossEntropy(g, h, W, Int32Array.from([-100, -100]));
    assert.equal(loss.item(), 0);
    g.backward(loss);
    assert.ok((h.grad ?? new Float32Array(1)).every((x) => x === 0));
    g.dispose();
    h.grad = W.grad = null;
  });
});
