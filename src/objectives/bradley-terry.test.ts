import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { Tensor } from '../engine/tensor.js';
import { bradleyTerry, bradleyTerryLoss } from './bradley-terry.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { FIXTURE_TOL, objectivesFixture } from '../test-support/objectives-fixture.js';

describe('Bradley-Terry loss', () => {
  it('matches hand-computed values', () => {
    // pair 1: Δ = 0 → −log σ(0) = log 2; pair 2: Δ = 2 − 1 − 0.5 (margin) = 0.5 → −log σ(0.5) = 0.474077
    const r = bradleyTerry([0, 2], [0, 1], { margins: [0, 0.5] });
    assertClose(r.loss, (Math.LN2 + 0.4740769841801067) / 2);
    // dL/dr_chosen = −(1 − σ(Δ))/P: −0.25 and −(1 − 0.622459)/2 = −0.188771
    assertClose(r.dChosen[0], -0.25);
    assertClose(r.dChosen[1], -0.18877058);
    assertClose(r.dRejected[1], 0.18877058);
  });

  it('the autograd version has the same value and gradient, with weights and centering', () => {
    const rc = [0.3, -1.2, 2.0],
      rr = [0.1, 0.4, -0.5];
    const o = { margins: [0, 0.2, 1], weights: [1, 2, 1], centering: 0.01 };
    const want = bradleyTerry(rc, rr, o);
    const c = Tensor.from(rc, [3], true),
      j = Tensor.from(rr, [3], true);
    const g = new Graph();
    const loss = bradleyTerryLoss(g, c, j, o);
    assertClose(loss.item(), want.loss, 1e-6);
    g.backward(loss);
    want.dChosen.forEach((d, i) => assertClose(c.grad![i], d, 1e-6));
    want.dRejected.forEach((d, i) => assertClose(j.grad![i], d, 1e-6));
    g.dispose();
  });

  it('a larger gap in the right direction gives a smaller loss', () => {
    assert.ok(bradleyTerry([3], [0]).loss < bradleyTerry([1], [0]).loss);
    assert.ok(bradleyTerry([0], [1]).loss > Math.LN2);
  });
});

describe("Bradley-Terry against TRL's RewardTrainer loss in PyTorch (tests/fixtures/objectives.json)", () => {
  const f = objectivesFixture().bradley_terry;

  for (const name of ['plain', 'margin', 'margin_centered'] as const) {
    it(`${name.replace('_', ' and ')}: loss and gradients`, () => {
      const w = f[name];
      const o = {
        ...(name === 'plain' ? {} : { margins: f.margins }),
        ...(w.centering ? { centering: w.centering } : {}),
      };
      const c = Tensor.from(f.chosen, [f.P], true),
        r = Tensor.from(f.rejected, [f.P], true);
      const g = new Graph();
      const loss = bradleyTerryLoss(g, c, r, o);
      assertClose(loss.item(), w.loss, FIXTURE_TOL, 'loss');
      g.backward(loss);
      assertAllClose(c.grad!, w.grad_chosen, FIXTURE_TOL, 'd loss/d r_chosen');
      assertAllClose(r.grad!, w.grad_rejected, FIXTURE_TOL, 'd loss/d r_rejected');
      g.dispose();
      const ref = bradleyTerry(f.chosen, f.rejected, o);
      assertClose(ref.loss, w.loss, FIXTURE_TOL, 'reference loss');
      assertAllClose(ref.dChosen, w.grad_chosen, FIXTURE_TOL, 'reference d loss/d r_chosen');
      assertAllClose(ref.dRejected, w.grad_rejected, FIXTURE_TOL, 'reference d loss/d r_rejected');
    });
  }
});
