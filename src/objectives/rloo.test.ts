import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { Tensor } from '../engine/tensor.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { policyGradientFixture } from '../test-support/policy-gradient-fixture.js';
import { leaveOneOutAdvantages, penalizedRewards, rlooLoss, sequenceKL } from './rloo.js';

const TOL = { atol: 1e-5, rtol: 1e-5 };

describe('RLOO advantages', () => {
  it('by hand: each reward minus the mean of the other k − 1', () => {
    // [1, 2, 6]: baselines (2 + 6)/2 = 4, (1 + 6)/2 = 3.5, (1 + 2)/2 = 1.5
    assertAllClose(leaveOneOutAdvantages([1, 2, 6, 0, 0, 0], 3), [-3, -1.5, 4.5, 0, 0, 0]);
    assert.throws(() => leaveOneOutAdvantages([1, 2, 3], 2), /not whole groups of k = 2/);
    assert.throws(() => leaveOneOutAdvantages([1], 1), /k must be an integer ≥ 2/);
  });

  it("match TRL's, plain, normalized and with the KL in the reward", () => {
    const f = policyGradientFixture().rloo;
    assertAllClose(leaveOneOutAdvantages(f.rewards, f.k), f.advantages.plain, TOL);
    assertAllClose(leaveOneOutAdvantages(f.rewards, f.k, true), f.advantages.normalized, TOL);
    const kl = sequenceKL(f.old_logp, f.ref_logp, f.mask, f.B, f.T);
    assertAllClose(kl, f.sequence_kl, TOL, 'Σ_t (old − ref), padding ignored');
    const penalized = penalizedRewards(f.rewards, kl, f.beta);
    assertAllClose(penalized, f.penalized_rewards, TOL);
    assertAllClose(leaveOneOutAdvantages(penalized, f.k), f.advantages.kl_in_reward, TOL);
  });
});

describe('RLOO loss', () => {
  it('by hand: ratio 1 gives −A/B on every token of each sequence', () => {
    const logp = Tensor.from([-1, -2, -0.5, 0], [4], true);
    const g = new Graph();
    const x = { advantages: [2, -1], mask: [1, 1, 1, 0], oldLogp: null, refLogp: null };
    const { loss, stats } = rlooLoss(g, logp, x, 2, 2, { epsilonLow: 0.2, epsilonHigh: 0.2, klLossCoef: 0 });
    assertClose(loss.item(), (-2 + 1) / 2);
    g.backward(loss);
    assertAllClose(logp.grad!, [-1, -1, 0.5, 0]);
    g.dispose();
    assert.equal(stats['clip_ratio/region_mean'], 0);
  });

  it("matches TRL's sequence-level clipped loss, and the KL in the loss as documented", () => {
    const f = policyGradientFixture().rloo;
    for (const c of f.cases) {
      const what = `old=${c.with_old} klLossCoef=${c.kl_loss_coef}`;
      const logp = Tensor.from(f.logp, [f.B * f.T], true);
      const g = new Graph();
      const x = {
        advantages: f.advantages.kl_in_reward,
        mask: f.mask,
        oldLogp: c.with_old ? f.old_logp : null,
        refLogp: f.ref_logp,
      };
      const o = { epsilonLow: f.epsilon_low, epsilonHigh: f.epsilon_high, klLossCoef: c.kl_loss_coef };
      const { loss, stats } = rlooLoss(g, logp, x, f.B, f.T, o);
      assertClose(loss.item(), c.loss, TOL, `${what}: loss`);
      g.backward(loss);
      assertAllClose(logp.grad!, c.grad_logp, TOL, `${what}: gradient`);
      g.dispose();
      assertClose(stats.kl, c.kl, TOL, `${what}: kl`);
      for (const k of ['clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean'] as const)
        assertClose(stats[k], c[k], 1e-12, `${what}: ${k}`);
    }
  });
});
