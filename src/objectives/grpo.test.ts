import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { Tensor } from '../engine/tensor.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { policyGradientFixture } from '../test-support/policy-gradient-fixture.js';
import { aggregationWeights, groupAdvantages, grpoLoss, shardShare, unbiasedStd } from './grpo.js';

const TOL = { atol: 1e-5, rtol: 1e-5 };

describe('GRPO advantages', () => {
  it('normalize within each group by hand: (r − mean)/(std + 1e-4), std with Bessel', () => {
    // Group [1, 0]: mean 0.5, std √(0.5) = 0.70710678; group [2, 2]: std 0, advantages 0.
    const { advantages, fracZeroStd } = groupAdvantages([1, 0, 2, 2], 2, 'group');
    assertAllClose(advantages, [0.5 / 0.70720678, -0.5 / 0.70720678, 0, 0], 1e-6);
    assert.equal(fracZeroStd, 0.5);
    assertAllClose(groupAdvantages([1, 0, 2, 2], 2, 'none').advantages, [0.5, -0.5, 0, 0]);
    // mean 1.25; squared deviations 0.0625 + 1.5625 + 0.5625 + 0.5625 = 2.75, over n − 1 = 3
    assertClose(unbiasedStd([1, 0, 2, 2]), Math.sqrt(2.75 / 3), 1e-12);
  });

  it("match TRL's for group, batch and no scaling", () => {
    const f = policyGradientFixture().grpo_advantages;
    for (const c of f.cases) {
      const r = groupAdvantages(f.rewards, f.G, c.scale_rewards);
      assertAllClose(r.advantages, c.advantages, TOL, c.scale_rewards);
      assert.equal(r.fracZeroStd, c.frac_reward_zero_std, c.scale_rewards);
    }
  });

  it('refuse incomplete groups and groups of one', () => {
    assert.throws(() => groupAdvantages([1, 2, 3], 2, 'group'), /not whole groups of G = 2/);
    assert.throws(() => groupAdvantages([1, 2], 1, 'group'), /G must be an integer ≥ 2/);
  });
});

describe('GRPO aggregation', () => {
  // Two rows of T = 3: three valid tokens, then one.
  const mask = [1, 1, 1, 1, 0, 0];
  it('grpo: per-sequence mean then mean; bnpo/dapo: token mean; dr_grpo: sum/(B·L)', () => {
    assertAllClose(aggregationWeights(mask, 2, 3, 'grpo', 8), [1 / 6, 1 / 6, 1 / 6, 1 / 2, 0, 0]);
    assertAllClose(aggregationWeights(mask, 2, 3, 'dapo', 8), [1 / 4, 1 / 4, 1 / 4, 1 / 4, 0, 0]);
    assertAllClose(aggregationWeights(mask, 2, 3, 'bnpo', 8), [1 / 4, 1 / 4, 1 / 4, 1 / 4, 0, 0]);
    assertAllClose(aggregationWeights(mask, 2, 3, 'dr_grpo', 8), [1 / 16, 1 / 16, 1 / 16, 1 / 16, 0, 0]);
  });

  it("weights shards by sequences (grpo, dr_grpo) or tokens (bnpo, dapo), so shards add up to the batch's loss", () => {
    const whole = { sequences: 4, tokens: 10 },
      part = { sequences: 1, tokens: 4 };
    assert.equal(shardShare('grpo', part, whole), 0.25);
    assert.equal(shardShare('dr_grpo', part, whole), 0.25);
    assert.equal(shardShare('dapo', part, whole), 0.4);
    assert.equal(shardShare('bnpo', part, whole), 0.4);
  });
});

describe('GRPO loss', () => {
  it('by hand: ratio 1 (μ = 1) gives −A per token through the aggregation, and k3 adds β·(1 − r_ref)', () => {
    // One completion of 2 tokens, A = 2, no old log-probs; ref = logp on token 0 and logp − 1 on token 1.
    const logp = Tensor.from([-1, -2], [2], true);
    const g = new Graph();
    const x = { advantages: [2], mask: [1, 1], oldLogp: null, refLogp: [-1, -3] };
    const o = { epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0.5, lossType: 'grpo' as const, maxCompletionLength: 4 };
    const { loss, stats } = grpoLoss(g, logp, x, 1, 2, o);
    // policy: −2 per token, mean −2; k3 token 1: e^(−1) + 1 − 1 = 0.36787944, mean 0.18393972; β·that 0.09196986
    assertClose(loss.item(), -2 + 0.09196986, 1e-6);
    assertClose(stats.kl, 0.18393972, 1e-6);
    g.backward(loss);
    // d/dlogp: −A/2 = −1 per token; β/2·(1 − e^(ref − logp)): 0 and 0.25·(1 − 0.36787944) = 0.15803014
    assertAllClose(logp.grad!, [-1, -1 + 0.15803014], 1e-6);
    g.dispose();
  });

  it("matches TRL's loss, gradient and statistics for every loss type, with and without old and reference", () => {
    const f = policyGradientFixture().grpo_loss;
    for (const c of f.cases) {
      const what = `${c.loss_type} old=${c.with_old} ref=${c.with_ref} β=${c.beta}`;
      const logp = Tensor.from(f.logp, [f.B * f.T], true);
      const g = new Graph();
      const x = {
        advantages: f.advantages,
        mask: f.mask,
        oldLogp: c.with_old ? f.old_logp : null,
        refLogp: c.with_ref ? f.ref_logp : null,
      };
      const o = {
        epsilonLow: f.epsilon_low,
        epsilonHigh: f.epsilon_high,
        beta: c.beta,
        lossType: c.loss_type,
        maxCompletionLength: f.max_completion_length,
      };
      const { loss, stats } = grpoLoss(g, logp, x, f.B, f.T, o);
      assertClose(loss.item(), c.loss, TOL, `${what}: loss`);
      g.backward(loss);
      assertAllClose(logp.grad!, c.grad_logp, TOL, `${what}: gradient`);
      g.dispose();
      assertClose(stats.kl, c.kl, TOL, `${what}: kl`);
      for (const k of ['clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean'] as const)
        assertClose(stats[k], c[k], 1e-12, `${what}: ${k}`);
      assert.equal(
        stats.tokens,
        f.lengths.reduce((a, b) => a + b, 0),
      );
    }
  });

  it('needs the reference when β ≠ 0', () => {
    const logp = Tensor.from([-1], [1], true);
    const x = { advantages: [1], mask: [1], oldLogp: null, refLogp: null };
    const o = { epsilonLow: 0.2, epsilonHigh: 0.2, beta: 0.1, lossType: 'dapo' as const, maxCompletionLength: 1 };
    assert.throws(() => grpoLoss(new Graph(), logp, x, 1, 1, o), /beta is 0.1 but no reference/);
  });
});
