import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeAdvantages } from './gae.js';
import { assertAllClose } from '../test-support/assert-close.js';

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
