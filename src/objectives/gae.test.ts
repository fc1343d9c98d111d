import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeAdvantages } from './gae.js';
import { assertAllClose } from '../test-support/assert-close.js';
import { FIXTURE_TOL, objectivesFixture, valid } from '../test-support/objectives-fixture.js';
import { tokenRewards } from './kl.js';
import { maskedWhiten } from './whiten.js';

const rewards = [0, 0, 1],
  values = [0.5, 0.4, 0.6];

describe('computeAdvantages (GAE)', () => {
  it('matches the hand-computed recursion with γ = 1, λ = 0.95', () => {
    // t=2: δ = 1 + 0 − 0.6 = 0.4;          A = 0.4
    // t=1: δ = 0 + 0.6 − 0.4 = 0.2;        A = 0.2 + 0.95·0.4 = 0.58
    // t=0: δ = 0 + 0.4 − 0.5 = −0.1;       A = −0.1 + 0.95·0.58 = 0.451
    const { advantages, returns } = computeAdvantages(rewards, values, [1, 1, 1], 1, 3);
    assertAllClose(advantages, [0.451, 0.58, 0.4]);
    assertAllClose(returns, [0.951, 0.98, 1.0]); // A + V
  });

  it('matches the hand-computed recursion with γ = 0.9, λ = 0.5', () => {
    // t=2: δ = 1 − 0.6 = 0.4;                 A = 0.4
    // t=1: δ = 0.9·0.6 − 0.4 = 0.14;          A = 0.14 + 0.45·0.4 = 0.32
    // t=0: δ = 0.9·0.4 − 0.5 = −0.14;         A = −0.14 + 0.45·0.32 = 0.004
    const { advantages, returns } = computeAdvantages(rewards, values, [1, 1, 1], 1, 3, 0.9, 0.5);
    assertAllClose(advantages, [0.004, 0.32, 0.4]);
    assertAllClose(returns, [0.504, 0.72, 1.0]);
  });

  it('skips padding on either side and leaves it at 0', () => {
    // B = 2, T = 4: row 0 right-padded, row 1 left-padded; padded entries hold junk.
    const r = [0, 0, 1, 9, 9, 0, 0, 1],
      v = [0.5, 0.4, 0.6, 9, 9, 0.5, 0.4, 0.6],
      m = [1, 1, 1, 0, 0, 1, 1, 1];
    const { advantages, returns } = computeAdvantages(r, v, m, 2, 4);
    assertAllClose(advantages, [0.451, 0.58, 0.4, 0, 0, 0.451, 0.58, 0.4]);
    assertAllClose(returns, [0.951, 0.98, 1.0, 0, 0, 0.951, 0.98, 1.0]);
  });

  it('with γ = λ = 1, returns are the rewards-to-go (Monte Carlo)', () => {
    const r = [0.1, -0.2, 0.3, 2],
      v = [1, 2, 3, 4];
    const { advantages, returns } = computeAdvantages(r, v, [1, 1, 1, 1], 1, 4, 1, 1);
    assertAllClose(returns, [2.2, 2.1, 2.3, 2]);
    assertAllClose(advantages, [1.2, 0.1, -0.7, -2]);
  });

  it("agrees with TRL's loop over a right-padded batch with zeroed padding", () => {
    const T = 5,
      gamma = 0.99,
      lam = 0.9;
    const r = [0.3, -0.1, 0.2, 0.7, 0],
      v = [0.2, 0.5, -0.3, 0.1, 0],
      m = [1, 1, 1, 1, 0];
    // TRL: lastgaelam over every position, nextvalues = values[t+1] (0 at the end)
    const trl: number[] = [];
    let last = 0;
    for (let t = T - 1; t >= 0; t--) {
      const next = t < T - 1 ? v[t + 1] : 0;
      last = r[t] + gamma * next - v[t] + gamma * lam * last;
      trl[t] = last;
    }
    assertAllClose(computeAdvantages(r, v, m, 1, T, gamma, lam).advantages, [...trl.slice(0, 4), 0]);
  });

  it('rejects bad shapes and coefficients', () => {
    assert.throws(() => computeAdvantages([0, 0], [0, 0, 0], [1, 1, 1], 1, 3), /rewards has 2 entries, expected 3/);
    assert.throws(() => computeAdvantages([0], [0], [1], 1, 1, 1.5), /gamma must be in \[0, 1\]/);
  });
});

describe("GAE against TRL's compute_advantages in PyTorch (tests/fixtures/objectives.json)", () => {
  const fx = objectivesFixture();

  for (const c of fx.gae) {
    it(`advantages, returns and whitened advantages with γ = ${c.gamma}, λ = ${c.lambda}`, () => {
      // Rows: full; padding after; a prompt before and padding after; a single token.
      const { advantages, returns } = computeAdvantages(c.rewards, c.values, c.mask, c.B, c.T, c.gamma, c.lambda);
      assertAllClose(valid(advantages, c.mask), valid(c.advantages, c.mask), FIXTURE_TOL, 'advantages of valid tokens');
      assertAllClose(valid(returns, c.mask), valid(c.returns, c.mask), FIXTURE_TOL, 'returns of valid tokens');
      // NOTE: on purpose, ours are 0 off the mask; TRL leaves values there (prompt positions get γ·V_next).
      const off = c.mask.map((m) => 1 - m);
      assert.ok([...valid(advantages, off), ...valid(returns, off)].every((x) => x === 0));
      const white = maskedWhiten(advantages, c.mask);
      assertAllClose(
        valid(white, c.mask),
        valid(c.whitened_advantages, c.mask),
        FIXTURE_TOL,
        'whitened advantages of valid tokens',
      );
    });
  }

  it('scores and log-probs to whitened advantages: k1 penalty, score on the last token, whitened rewards', () => {
    // NOTE: on purpose, the score lands on the last valid token, as in TRL before #2174 and lm-human-preferences;
    // the current TRL PPO adds it one position later (the first padding position, kept by its padding_mask_p1).
    const s = fx.shaping;
    const rewards = tokenRewards(s.scores, s.logp, s.logp_ref, s.mask, s.B, s.T, s.beta);
    assertAllClose(rewards, s.rewards, FIXTURE_TOL, 'token rewards');
    const white = maskedWhiten(rewards, s.mask, { shiftMean: false });
    assertAllClose(white, s.whitened_rewards, FIXTURE_TOL, 'whitened rewards');
    const { advantages, returns } = computeAdvantages(white, s.values, s.mask, s.B, s.T, s.gamma, s.lambda);
    assertAllClose(valid(advantages, s.mask), valid(s.advantages, s.mask), FIXTURE_TOL, 'advantages of valid tokens');
    assertAllClose(valid(returns, s.mask), valid(s.returns, s.mask), FIXTURE_TOL, 'returns of valid tokens');
    const adv = maskedWhiten(advantages, s.mask);
    assertAllClose(
      valid(adv, s.mask),
      valid(s.whitened_advantages, s.mask),
      FIXTURE_TOL,
      'whitened advantages of valid tokens',
    );
  });
});
