import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck } from '../engine/gradcheck.js';
import { Graph } from '../engine/graph.js';
import { Tensor } from '../engine/tensor.js';
import { klK1, klK1Loss, klK2, klK3, klK3Loss, klPenalty, tokenRewards } from './kl.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { FIXTURE_TOL, objectivesFixture } from '../test-support/objectives-fixture.js';

// Three tokens, the last one masked out. logp − logpRef = 0.5, −1, (2.5, ignored).
const logp = [-1, -2, -0.5];
const ref = [-1.5, -1, -3];
const mask = [1, 1, 0];

describe('KL penalty', () => {
  it('is −β·(logp − logpRef) on valid tokens', () => {
    // β = 0.1: −0.1·0.5 = −0.05, −0.1·(−1) = 0.1, masked → 0
    assertAllClose(klPenalty(logp, ref, mask, 0.1), [-0.05, 0.1, 0]);
  });

  it('tokenRewards adds each score on the last valid token', () => {
    // B = 2, T = 2; row 0 both tokens valid, row 1 only the first.
    // row 0: [−0.1·0.5, −0.1·(−1) + 2] = [−0.05, 2.1]; row 1: [−0.1·0.5 − 1, 0] = [−1.05, 0]
    const r = tokenRewards([2, -1], [-1, -2, -0.5, -7], [-1.5, -1, -1, -7], [1, 1, 1, 0], 2, 2, 0.1);
    assertAllClose(r, [-0.05, 2.1, -1.05, 0]);
    assert.throws(() => tokenRewards([1], [0, 0], [0, 0], [0, 0], 1, 2, 0.1), /sequence 0 has no valid token/);
  });
});

describe('KL estimators', () => {
  it('k1, k2, k3 match hand-computed values', () => {
    // k1: (0.5 + (−1))/2 = −0.25;  k2: (½·0.25 + ½·1)/2 = 0.3125
    assertClose(klK1(logp, ref, mask), -0.25);
    assertClose(klK2(logp, ref, mask), 0.3125);
    // log r = −0.5: r = 0.60653066, k3 = 0.60653066 − 1 + 0.5 = 0.10653066
    // log r = 1:    r = 2.71828183, k3 = 2.71828183 − 1 − 1 = 0.71828183;  mean 0.41240624
    assertClose(klK3(logp, ref, mask), 0.41240624);
  });

  it('k3 is ≥ 0 and ≈ k2 for close policies', () => {
    const a = [-1, -1.01, -0.99],
      b = [-1.005, -1, -1];
    assert.ok(klK3(a, b, [1, 1, 1]) >= 0);
    assertClose(klK3(a, b, [1, 1, 1]), klK2(a, b, [1, 1, 1]), 1e-6);
  });

  it('the loss versions have the same values and hand-derived gradients', () => {
    const x = Tensor.from(logp, [3], true);
    let g = new Graph();
    const k1 = klK1Loss(g, x, ref, mask);
    assertClose(k1.item(), -0.25);
    g.backward(k1);
    assertAllClose(x.grad!, [0.5, 0.5, 0]); // d k1/d logp = mask/count
    g.dispose();
    x.grad = null;
    g = new Graph();
    const k3 = klK3Loss(g, x, ref, mask);
    assertClose(k3.item(), 0.41240624);
    g.backward(k3);
    // d k3/d logp = (1 − r)/count: (1 − 0.60653066)/2 = 0.19673467, (1 − 2.71828183)/2 = −0.85914091
    assertAllClose(x.grad!, [0.19673467, -0.85914091, 0]);
    g.dispose();
  });

  it('gradient checks', () => {
    const x = Tensor.from([-0.4, -1.3, -2.2, -0.1], [4], true);
    const r = [-0.6, -1.0, -2.9, -0.3],
      m = [1, 1, 1, 0];
    gradCheck((g) => klK1Loss(g, x, r, m), [x]);
    gradCheck((g) => klK3Loss(g, x, r, m), [x]);
  });
});

describe("KL estimators against TRL's k1 / k3 (logr = ref − logp) in PyTorch (tests/fixtures/objectives.json)", () => {
  const k = objectivesFixture().kl;

  it('masked means of k1, k2 and k3', () => {
    assertClose(klK1(k.logp, k.logp_ref, k.mask), k.k1, FIXTURE_TOL, 'k1');
    assertClose(klK2(k.logp, k.logp_ref, k.mask), k.k2, FIXTURE_TOL, 'k2');
    assertClose(klK3(k.logp, k.logp_ref, k.mask), k.k3, FIXTURE_TOL, 'k3');
  });

  it('the k1 and k3 losses and their gradients with respect to the policy', () => {
    for (const [name, loss, want, grad] of [
      ['k1', klK1Loss, k.k1, k.grad_k1],
      ['k3', klK3Loss, k.k3, k.grad_k3],
    ] as const) {
      const x = Tensor.from(k.logp, [k.B * k.T], true);
      const g = new Graph();
      const l = loss(g, x, k.logp_ref, k.mask);
      assertClose(l.item(), want, FIXTURE_TOL, name);
      g.backward(l);
      assertAllClose(x.grad!, grad, FIXTURE_TOL, `d ${name}/d logp`);
      g.dispose();
    }
  });
});
