import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllClose } from '../../test-support/assert-close.js';
import { llamaOpsFixture } from '../../test-support/llama-ops-fixture.js';
import { gradCheck } from '../gradcheck.js';
import { Graph } from '../graph.js';
import { RNG } from '../rng.js';
import { Tensor } from '../tensor.js';
import { rmsNorm } from './rmsnorm.js';

const TOL = { atol: 1e-5, rtol: 1e-5 };

describe('rmsNorm', () => {
  it('passes a gradient check for x and w', () => {
    const rng = new RNG(7);
    const x = Tensor.zeros([2, 3, 6], true),
      w = Tensor.zeros([6], true);
    rng.fillNormal(x.data, 2, 0.5);
    rng.fillNormal(w.data, 0.3, 1);
    gradCheck((g) => rmsNorm(g, x, w, 1e-5), [x, w]);
  });

  it("matches Hugging Face's LlamaRMSNorm in PyTorch, values and gradients (tests/fixtures/llama-ops.json)", () => {
    const f = llamaOpsFixture().rmsnorm;
    const x = Tensor.from(f.x, [f.N, f.C], true),
      w = Tensor.from(f.w, [f.C], true);
    const g = new Graph();
    const y = rmsNorm(g, x, w, f.eps);
    assertAllClose(y.data, f.y, TOL, 'y');
    g.backwardFrom(y, Float32Array.from(f.dy));
    assertAllClose(x.grad!, f.grad_x, TOL, 'dx');
    assertAllClose(w.grad!, f.grad_w, TOL, 'dw');
    g.dispose();
  });

  it('normalizes without a mean (a constant row becomes the weight) and names a wrong weight size', () => {
    const g = Graph.inference();
    const y = rmsNorm(g, Tensor.from([-3, -3, -3, -3], [1, 4]), Tensor.from([1, 2, 3, 4]), 0);
    assertAllClose(y.data, [-1, -2, -3, -4], 1e-6, 'y');
    assert.throws(
      () => rmsNorm(g, Tensor.zeros([2, 4]), Tensor.zeros([3])),
      /weight has 3 elements but x's last dimension is 4/,
    );
    g.dispose();
  });
});
