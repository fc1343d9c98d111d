import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck } from '../engine/gradcheck.js';
import { Graph } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { meanEntropy, ppoPolicy, ppoPolicyLoss, ppoValue, ppoValueLoss } from './ppo.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { FIXTURE_TOL, objectivesFixture } from '../test-support/objectives-fixture.js';

// ε = 0.2. One token for each case of the clipped objective, and one masked out:
//   A = 1,  ratio 1.5: max(−1.5, −1.2) = −1.2   clipped, no gradient
//   A = 1,  ratio 0.5: max(−0.5, −0.8) = −0.5   unclipped, d/d logp = −A·ratio = −0.5
//   A = −2, ratio 0.5: max(1.0, 1.6) = 1.6      clipped
//   A = −2, ratio 1.5: max(3.0, 2.4) = 3.0      unclipped, d/d logp = 3.0
//   A = 0.5, ratio 1.1: −0.55 either way        unclipped, d/d logp = −0.55
const ratios = [1.5, 0.5, 0.5, 1.5, 1.1, 3];
const adv = [1, 1, -2, -2, 0.5, 100];
const mask = [1, 1, 1, 1, 1, 0];
const old = [-1, -2, -1.5, -0.7, -3, -1];
const logp = old.map((o, i) => o + Math.log(ratios[i]));

describe('PPO policy loss', () => {
  it('matches hand-computed loss, gradient and stats', () => {
    const x = Tensor.from(logp, [6], true);
    const g = new Graph();
    const { loss, stats } = ppoPolicyLoss(g, x, old, adv, mask, 0.2);
    assertClose(loss.item(), 0.47); // (−1.2 − 0.5 + 1.6 + 3.0 − 0.55)/5 = 2.35/5
    g.backward(loss);
    assertAllClose(x.grad!, [0, -0.1, 0, 0.6, -0.11, 0]); // the derivatives above, /5
    g.dispose();
    assertClose(stats['ppo/clipfrac'], 0.4); // 2 of 5
    assertClose(stats['ppo/policy/ratio_mean'], 1.02);
    assert.ok(Number.isFinite(stats['ppo/approxkl'])); // (1.5 + 0.5 + 0.5 + 1.5 + 1.1)/5
    // ½·mean(log² ratio): ln 1.5² = 0.16440195, ln 0.5² = 0.48045301, ln 1.1² = 0.00908403
    // ½·(2·0.16440195 + 2·0.48045301 + 0.00908403)/5 = 0.12987940
    assertClose(stats['ppo/approxkl'], 0.1298794);
  });

  it('ignores junk in masked positions (no 0·∞ = NaN)', () => {
    const x = Tensor.from(logp, [6], true);
    const g = new Graph();
    const { loss } = ppoPolicyLoss(g, x, [...old.slice(0, 5), -1e30], adv, mask, 0.2);
    assertClose(loss.item(), 0.47);
    g.backward(loss);
    assertClose(x.grad![5], 0);
    g.dispose();
  });

  it('the plain reference gives the same loss and gradient', () => {
    const { loss, dLogp } = ppoPolicy(logp, old, adv, mask, 0.2);
    assertClose(loss, 0.47);
    assertAllClose(dLogp, [0, -0.1, 0, 0.6, -0.11, 0]);
  });

  it('equals the reference on random batches and passes a gradient check', () => {
    const rng = new RNG(7);
    const n = 12,
      o = rng.fillNormal(new Float32Array(n), 0.5, -2),
      a = rng.fillNormal(new Float32Array(n));
    const lp = Array.from(o, (v) => v + (rng.uniform() - 0.5) * 1.2);
    const m = Array.from({ length: n }, (_, i) => (i % 4 === 3 ? 0 : 1));
    const x = Tensor.from(lp, [n], true);
    const want = ppoPolicy(lp, Array.from(o), Array.from(a), m, 0.2);
    const g = new Graph();
    const { loss } = ppoPolicyLoss(g, x, o, a, m, 0.2);
    assertClose(loss.item(), want.loss, 1e-5);
    g.backward(loss);
    assertAllClose(x.grad!, want.dLogp, 1e-5);
    g.dispose();
    const y = Tensor.from(logp, [6], true);
    gradCheck((g) => ppoPolicyLoss(g, y, old, adv, mask, 0.2).loss, [y]);
  });
});

// ε_v = 0.2. One token per case, and one masked out:
//   v 1.0, old 0.5, R 0:    clip 0.7; (1)² = 1 vs (0.7)² = 0.49      unclipped, d/dv = v − R = 1
//   v 1.0, old 0.5, R 2:    clip 0.7; (−1)² = 1 vs (−1.3)² = 1.69    clipped, no gradient
//   v 0.6, old 0.5, R 0.4:  inside [0.3, 0.7]; both 0.04             unclipped, d/dv = 0.2
//   v −1,  old 0,   R −2:   clip −0.2; (1)² = 1 vs (1.8)² = 3.24     clipped
const v = [1.0, 1.0, 0.6, -1, 5],
  vOld = [0.5, 0.5, 0.5, 0, 0],
  R = [0, 2, 0.4, -2, 0],
  vMask = [1, 1, 1, 1, 0];

describe('PPO value loss', () => {
  it('matches hand-computed loss, gradient and stats', () => {
    const x = Tensor.from(v, [5], true);
    const g = new Graph();
    const { loss, stats } = ppoValueLoss(g, x, vOld, R, vMask, 0.2);
    assertClose(loss.item(), 0.74625); // ½·(1 + 1.69 + 0.04 + 3.24)/4 = ½·5.97/4
    g.backward(loss);
    assertAllClose(x.grad!, [0.25, 0, 0.05, 0, 0]); // ½·2(v − R)/4 on the unclipped tokens
    g.dispose();
    assertClose(stats['ppo/val/clipfrac'], 0.5);
    assertClose(stats['ppo/val/error'], 0.76); // (1 + 1 + 0.04 + 1)/4
    assertClose(stats['ppo/val/vpred'], 0.4); // (1 + 1 + 0.6 − 1)/4
    const ref = ppoValue(v, vOld, R, vMask, 0.2);
    assertClose(ref.loss, 0.74625);
    assertAllClose(ref.dValues, [0.25, 0, 0.05, 0, 0]);
  });

  it('equals the reference on random batches and passes a gradient check', () => {
    const rng = new RNG(11);
    const n = 12,
      vo = rng.fillNormal(new Float32Array(n)),
      ret = rng.fillNormal(new Float32Array(n));
    const vs = Array.from(vo, (x) => x + (rng.uniform() - 0.5));
    const m = Array.from({ length: n }, (_, i) => (i % 5 === 4 ? 0 : 1));
    const x = Tensor.from(vs, [n], true);
    const want = ppoValue(vs, Array.from(vo), Array.from(ret), m, 0.2);
    const g = new Graph();
    const { loss } = ppoValueLoss(g, x, vo, ret, m, 0.2);
    assertClose(loss.item(), want.loss, 1e-5);
    g.backward(loss);
    assertAllClose(x.grad!, want.dValues, 1e-5);
    g.dispose();
    const y = Tensor.from(v, [5], true);
    gradCheck((g) => ppoValueLoss(g, y, vOld, R, vMask, 0.2).loss, [y]);
  });
});

describe('entropy bonus', () => {
  it('averages the entropy over valid rows', () => {
    // row 0 uniform over 4: ln 4; row 1 two live logits: ≈ ln 2; row 2 masked. (ln 4 + ln 2)/2 = 1.5·ln 2
    const logits = Tensor.from([0, 0, 0, 0, 0, 0, -100, -100, 5, 0, 0, 0], [3, 4]);
    const g = Graph.inference();
    assertClose(meanEntropy(g, logits, [1, 1, 0]).item(), 1.5 * Math.LN2, 1e-5);
    g.dispose();
    const z = Tensor.from([0.3, -0.2, 1.1, 0.4, -1.0, 0.2, 0.0, 0.7], [2, 4], true);
    gradCheck((g) => meanEntropy(g, z, [1, 1]), [z]);
  });
});

describe("PPO losses against TRL's formulas in PyTorch (tests/fixtures/objectives.json)", () => {
  const fx = objectivesFixture();

  it('policy: clipped loss, its gradient, clipfrac, approx KL and mean ratio', () => {
    const p = fx.ppo_policy;
    const x = Tensor.from(p.logp, [p.B * p.T], true);
    const g = new Graph();
    const { loss, stats } = ppoPolicyLoss(g, x, p.old_logp, p.advantages, p.mask, p.clip_range);
    assertClose(loss.item(), p.loss, FIXTURE_TOL, 'loss');
    g.backward(loss);
    assertAllClose(x.grad!, p.grad_logp, FIXTURE_TOL, 'd loss/d logp');
    g.dispose();
    assertClose(stats['ppo/clipfrac'], p.clipfrac, FIXTURE_TOL, 'ppo/clipfrac');
    assertClose(stats['ppo/approxkl'], p.approxkl, FIXTURE_TOL, 'ppo/approxkl');
    assertClose(stats['ppo/policy/ratio_mean'], p.ratio_mean, FIXTURE_TOL, 'ppo/policy/ratio_mean');
    const ref = ppoPolicy(p.logp, p.old_logp, p.advantages, p.mask, p.clip_range);
    assertClose(ref.loss, p.loss, FIXTURE_TOL, 'reference loss');
    assertAllClose(ref.dLogp, p.grad_logp, FIXTURE_TOL, 'reference d loss/d logp');
  });

  it(
    'approx KL and the ratio are means over valid tokens, as TRL before PPOv2 (the current TRL counts ' + 'padding)',
    () => {
      // NOTE: on purpose. The current TRL PPO logs 0.5·mean(diff²) and mean(ratio) over every position,
      // padding included (where both log-probs are INVALID_LOGPROB, so diff 0 and ratio 1): its numbers
      // shrink toward 0 and 1 as padding grows. Ours (and TRL's before #2174) average valid tokens only.
      const p = fx.ppo_policy;
      const g = Graph.inference();
      const { stats } = ppoPolicyLoss(g, Tensor.from(p.logp), p.old_logp, p.advantages, p.mask, p.clip_range);
      g.dispose();
      const share = p.mask.reduce((a, m) => a + m, 0) / p.mask.length;
      assertClose(stats['ppo/approxkl'] * share, p.approxkl_over_all_positions, FIXTURE_TOL, 'approxkl, rescaled');
      assertClose(
        (stats['ppo/policy/ratio_mean'] - 1) * share + 1,
        p.ratio_mean_over_all_positions,
        FIXTURE_TOL,
        'ratio mean, rescaled',
      );
    },
  );

  it('value: clipped loss, its gradient, clipfrac, error and mean prediction', () => {
    const p = fx.ppo_value;
    const x = Tensor.from(p.values, [p.B * p.T], true);
    const g = new Graph();
    const { loss, stats } = ppoValueLoss(g, x, p.old_values, p.returns, p.mask, p.clip_range_value);
    assertClose(loss.item(), p.loss, FIXTURE_TOL, 'loss');
    g.backward(loss);
    assertAllClose(x.grad!, p.grad_values, FIXTURE_TOL, 'd loss/d v');
    g.dispose();
    assertClose(stats['ppo/val/clipfrac'], p.clipfrac, FIXTURE_TOL, 'ppo/val/clipfrac');
    assertClose(stats['ppo/val/error'], p.error, FIXTURE_TOL, 'ppo/val/error');
    assertClose(stats['ppo/val/vpred'], p.vpred, FIXTURE_TOL, 'ppo/val/vpred');
    const ref = ppoValue(p.values, p.old_values, p.returns, p.mask, p.clip_range_value);
    assertClose(ref.loss, p.loss, FIXTURE_TOL, 'reference loss');
    assertAllClose(ref.dValues, p.grad_values, FIXTURE_TOL, 'reference d loss/d v');
  });

  it("entropy: TRL's entropy_from_logits averaged over valid rows, and its gradient", () => {
    const e = fx.entropy;
    const z = Tensor.from(e.logits, [e.N, e.V], true);
    const g = new Graph();
    const h = meanEntropy(g, z, e.mask);
    assertClose(h.item(), e.entropy, FIXTURE_TOL, 'entropy');
    g.backward(h);
    assertAllClose(z.grad!, e.grad_logits, FIXTURE_TOL, 'd entropy/d logits');
    g.dispose();
  });
});
