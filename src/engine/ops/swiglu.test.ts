import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllClose } from '../../test-support/assert-close.js';
import { llamaOpsFixture } from '../../test-support/llama-ops-fixture.js';
import { gradCheck } from '../gradcheck.js';
import { Graph } from '../graph.js';
import { RNG } from '../rng.js';
import { Tensor } from '../tensor.js';
import { silu, swiglu } from './swiglu.js';

const TOL = { atol: 1e-6, rtol: 1e-5 };

describe('silu and swiglu', () => {
  it('pass gradient checks, on both inputs of the gate', () => {
    const rng = new RNG(3);
    const a = Tensor.zeros([3, 8], true),
      b = Tensor.zeros([3, 8], true);
    rng.fillNormal(a.data, 3);
    rng.fillNormal(b.data);
    gradCheck((g) => silu(g, a), [a]);
    gradCheck((g) => swiglu(g, a, b), [a, b]);
  });

  it('match F.silu(gate) * up in PyTorch, values and gradients (tests/fixtures/llama-ops.json)', () => {
    const f = llamaOpsFixture().swiglu;
    const gate = Tensor.from(f.gate, [f.n], true),
      up = Tensor.from(f.up, [f.n], true);
    const g = new Graph();
    assertAllClose(silu(g, gate).data, f.silu, TOL, 'silu');
    const y = swiglu(g, gate, up);
    assertAllClose(y.data, f.y, TOL, 'swiglu');
    g.backwardFrom(y, Float32Array.from(f.dy));
    assertAllClose(gate.grad!, f.grad_gate, TOL, 'd gate');
    assertAllClose(up.grad!, f.grad_up, TOL, 'd up');
    g.dispose();
  });

  it('name mismatched gate and up shapes', () => {
    const g = Graph.inference();
    assert.throws(
      () => swiglu(g, Tensor.zeros([2, 3]), Tensor.zeros([2, 4])),
      /gate has shape \[2, 3\] but up has \[2, 4\]/,
    );
    g.dispose();
  });
});
