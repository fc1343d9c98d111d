import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck } from '../engine/gradcheck.js';
import { Graph } from '../engine/graph.js';
import { Tensor } from '../engine/tensor.js';
import { DPOOptions, dpo, dpoLoss, ipo, ipoLoss } from './dpo.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { FIXTURE_TOL, objectivesFixture } from '../test-support/objectives-fixture.js';

// Two pairs, β = 0.1:
//   pair 1: h = (−10 + 11) − (−12 + 11) = 2,  βh = 0.2
//   pair 2: h = (−5 + 5) − (−4 + 5) = −1,     βh = −0.1
const pc = [-10, -5],
  pr = [-12, -4],
  rc = [-11, -5],
  rr = [-11, -5];

function run(loss: typeof dpoLoss, o: DPOOptions) {
  const c = Tensor.from(pc, [2], true),
    r = Tensor.from(pr, [2], true);
  const g = new Graph();
  const out = loss(g, c, r, rc, rr, o);
  const value = out.loss.item();
  g.backward(out.loss);
  const res = { value, metrics: out.metrics, dChosen: Array.from(c.grad!), dRejected: Array.from(r.grad!) };
  g.dispose();
  return res;
}

describe('DPO loss', () => {
  it('matches hand-computed loss, gradients and metrics', () => {
    const out = run(dpoLoss, { beta: 0.1 });
    // −log σ(0.2) = ln(1 + e^−0.2) = 0.59813887; −log σ(−0.1) = ln(1 + e^0.1) = 0.74439666
    assertClose(out.value, (0.59813887 + 0.74439666) / 2);
    // dL/dπ_w = β(σ(βh) − 1)/P: 0.1·(0.54983400 − 1)/2 = −0.02250830; 0.1·(0.47502081 − 1)/2 = −0.02624896
    assertAllClose(out.dChosen, [-0.0225083, -0.02624896]);
    assertAllClose(out.dRejected, [0.0225083, 0.02624896]);
    // implicit rewards: chosen 0.1·1 = 0.1 and 0; rejected 0.1·(−1) = −0.1 and 0.1·1 = 0.1
    assertClose(out.metrics['rewards/chosen'], 0.05);
    assertClose(out.metrics['rewards/rejected'], 0);
    assertClose(out.metrics['rewards/accuracies'], 0.5); // 0.1 > −0.1 yes, 0 > 0.1 no
    assertClose(out.metrics['rewards/margins'], 0.05);
  });

  it('label smoothing (cDPO) adds ε·βh to each pair: −log σ(−z) = −log σ(z) + z', () => {
    const out = run(dpoLoss, { beta: 0.1, labelSmoothing: 0.1 });
    // (0.59813887 + 0.1·0.2 + 0.74439666 + 0.1·(−0.1))/2 = 0.67626777
    assertClose(out.value, 0.67626777);
    // dL/dπ_w = β(σ(βh) − 1 + ε)/P: 0.1·(0.549834 − 0.9)/2 = −0.0175083
    assertClose(out.dChosen[0], -0.0175083);
    const want = dpo(pc, pr, rc, rr, { beta: 0.1, labelSmoothing: 0.1 });
    assertClose(want.loss, out.value);
    assertAllClose(want.dChosen, out.dChosen);
    assertAllClose(want.dRejected, out.dRejected);
  });

  it('the plain reference agrees, and gradient checks pass', () => {
    const want = dpo(pc, pr, rc, rr, { beta: 0.1 });
    assertClose(want.loss, (0.59813887 + 0.74439666) / 2);
    assertAllClose(want.dChosen, [-0.0225083, -0.02624896]);
    const c = Tensor.from([-3.1, -2.2, -4.0], [3], true),
      r = Tensor.from([-2.9, -3.5, -1.2], [3], true);
    const rcs = [-3, -2.5, -3.6],
      rrs = [-3.3, -3.0, -1.0];
    gradCheck((g) => dpoLoss(g, c, r, rcs, rrs, { beta: 0.5, labelSmoothing: 0.2 }).loss, [c, r]);
    gradCheck((g) => ipoLoss(g, c, r, rcs, rrs, { beta: 0.5 }).loss, [c, r]);
  });

  it('rejects impossible settings, naming the field', () => {
    assert.throws(() => run(dpoLoss, { beta: 0 }), /beta must be > 0/);
    assert.throws(() => run(dpoLoss, { labelSmoothing: 0.5 }), /labelSmoothing must be in \[0, 0.5\)/);
    assert.throws(() => run(ipoLoss, { labelSmoothing: 0.1 }), /labelSmoothing applies to DPO only/);
  });
});

describe('IPO loss', () => {
  it('matches hand-computed loss and gradients', () => {
    const out = run(ipoLoss, { beta: 0.1 });
    // 1/(2β) = 5: ((2 − 5)² + (−1 − 5)²)/2 = (9 + 36)/2
    assertClose(out.value, 22.5, 1e-5);
    // 2(h − 5)/P: −3, −6
    assertAllClose(out.dChosen, [-3, -6], 1e-5);
    assertAllClose(out.dRejected, [3, 6], 1e-5);
    assertClose(out.metrics['rewards/margins'], 0.05);
    const want = ipo(pc, pr, rc, rr, { beta: 0.1 });
    assertClose(want.loss, 22.5);
    assertAllClose(want.dChosen, [-3, -6]);
  });
});

describe("DPO, cDPO and IPO against TRL's formulas in PyTorch (tests/fixtures/objectives.json)", () => {
  const f = objectivesFixture().preference;

  function check(
    loss: typeof dpoLoss,
    inputs: { policy_chosen: number[]; policy_rejected: number[]; ref_chosen: number[]; ref_rejected: number[] },
    want: { loss: number; grad_chosen: number[]; grad_rejected: number[] },
    o: DPOOptions,
  ) {
    const c = Tensor.from(inputs.policy_chosen, [f.P], true),
      r = Tensor.from(inputs.policy_rejected, [f.P], true);
    const g = new Graph();
    const out = loss(g, c, r, inputs.ref_chosen, inputs.ref_rejected, o);
    assertClose(out.loss.item(), want.loss, FIXTURE_TOL, 'loss');
    g.backward(out.loss);
    assertAllClose(c.grad!, want.grad_chosen, FIXTURE_TOL, 'd loss/d policy chosen');
    assertAllClose(r.grad!, want.grad_rejected, FIXTURE_TOL, 'd loss/d policy rejected');
    g.dispose();
    return out.metrics;
  }

  for (const name of ['dpo', 'cdpo'] as const) {
    const w = f[name];
    it(`${name}: sigmoid loss with β = ${w.beta}, label smoothing ${w.label_smoothing}, gradients and metrics`, () => {
      const metrics = check(dpoLoss, f, w, { beta: w.beta, labelSmoothing: w.label_smoothing });
      for (const k of Object.keys(w.metrics) as (keyof typeof w.metrics)[])
        assertClose(metrics[k], w.metrics[k], FIXTURE_TOL, k);
      const ref = dpo(f.policy_chosen, f.policy_rejected, f.ref_chosen, f.ref_rejected, {
        beta: w.beta,
        labelSmoothing: w.label_smoothing,
      });
      assertClose(ref.loss, w.loss, FIXTURE_TOL, 'reference loss');
      assertAllClose(ref.dChosen, w.grad_chosen, FIXTURE_TOL, 'reference d loss/d chosen');
    });
  }

  it("ipo: on per-token mean log-probs (TRL divides each log-ratio by the completion's length)", () => {
    const w = f.ipo;
    check(ipoLoss, w, w, { beta: w.beta });
    const ref = ipo(w.policy_chosen, w.policy_rejected, w.ref_chosen, w.ref_rejected, { beta: w.beta });
    assertClose(ref.loss, w.loss, FIXTURE_TOL, 'reference loss');
    assertAllClose(ref.dChosen, w.grad_chosen, FIXTURE_TOL, 'reference d loss/d chosen');
  });
});
