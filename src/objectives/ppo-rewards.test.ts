import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { sampledEntropy, shapeRewards } from './ppo-rewards.js';

const close = (got: number, want: number, tol = 1e-6) => assertClose(got, want, tol);
const closeAll = (got: ArrayLike<number>, want: number[], tol = 1e-6) => assertAllClose(got, want, tol);

// Two rows of T = 3: row 0 has three completion tokens, row 1 two (then padding).
const input = {
  scores: [2, 1],
  finished: [true, true],
  logp: [-1, -2, -0.5, -1, -1, 0],
  logpRef: [-1.5, -2, -1, -0.5, -1, 0],
  values: [0.5, 0.2, 0.1, 0.3, 0.4, 9],
  mask: [1, 1, 1, 1, 1, 0],
  B: 2,
  T: 3,
};
const plain = { beta: 0.1, missingEosPenalty: 0, scoreClip: 0, whitenRewards: false, gamma: 1, lambda: 0.5 };

describe('shapeRewards', () => {
  it('puts −β·KL on every completion token and the score on the last, then runs GAE (hand-computed)', () => {
    const s = shapeRewards(input, plain);
    // k1 per token: row 0: 0.5, 0, 0.5 (KL 1); row 1: −0.5, 0 (KL −0.5).
    closeAll(s.kl, [1, -0.5]);
    // −0.1·k1, plus the score on the last valid token; padding stays 0.
    closeAll(s.rewards, [-0.05, 0, 1.95, 0.05, 1, 0]);
    // Row 0, backwards (γ 1, λ 0.5):
    //   t=2: δ = 1.95 + 0 − 0.1 = 1.85;      A = 1.85
    //   t=1: δ = 0 + 0.1 − 0.2 = −0.1;       A = −0.1 + 0.5·1.85 = 0.825
    //   t=0: δ = −0.05 + 0.2 − 0.5 = −0.35;  A = −0.35 + 0.5·0.825 = 0.0625
    // Row 1: t=1: δ = 1 − 0.4 = 0.6, A = 0.6; t=0: δ = 0.05 + 0.4 − 0.3 = 0.15, A = 0.15 + 0.3 = 0.45.
    closeAll(s.returns, [0.5625, 1.025, 1.95, 0.75, 1, 0]); // A + V
    // The advantages are whitened over the five valid tokens: mean 0.7575, unbiased variance 0.450125.
    const sd = Math.sqrt(0.450125 + 1e-8);
    closeAll(
      s.advantages,
      [0.0625, 0.825, 1.85, 0.45, 0.6, 0.7575].map((a, i) => (i === 5 ? 0 : (a - 0.7575) / sd)),
      1e-5,
    );
  });

  it('with β = 0 the only reward is the score, on the last valid token of each row', () => {
    const s = shapeRewards(input, { ...plain, beta: 0 });
    closeAll(s.rewards, [0, 0, 2, 0, 1, 0]);
    closeAll(s.scores, [2, 1]);
  });

  it('whitens the per-token rewards (scale only) before GAE when asked', () => {
    const s = shapeRewards(input, { ...plain, whitenRewards: true, lambda: 1, beta: 0 });
    // Rewards 0, 0, 2, 0, 1 on the valid tokens: mean 0.6, unbiased variance 0.8.
    const w = (r: number) => (r - 0.6) / Math.sqrt(0.8 + 1e-8) + 0.6;
    // With γ = λ = 1 the return of a token is the sum of the (whitened) rewards from it to the end.
    closeAll(s.returns, [w(0) + w(0) + w(2), w(0) + w(2), w(2), w(0) + w(1), w(1), 0], 1e-5);
    closeAll(s.rewards, [0, 0, 2, 0, 1, 0]); // reported before whitening
  });

  it('names the field when a length is wrong', () => {
    assert.throws(() => shapeRewards({ ...input, finished: [true] }, plain), /finished has 1 entries, expected 2/);
    assert.throws(() => shapeRewards({ ...input, values: [0] }, plain), /values has 1 entries, expected 6/);
  });

  it('subtracts the missing-EOS penalty from unfinished completions, then clips (TRL order)', () => {
    const s = shapeRewards(
      { ...input, scores: [2, 1], finished: [true, false] },
      { ...plain, beta: 0, missingEosPenalty: 0.5, scoreClip: 1.8 },
    );
    closeAll(s.scores, [1.8, 0.5]); // 2 clipped to 1.8; 1 − 0.5 for the row cut at the token limit
    closeAll(s.rewards, [0, 0, 1.8, 0, 0.5, 0]);
    const unclipped = shapeRewards(
      { ...input, scores: [-2, 3], finished: [false, false] },
      { ...plain, missingEosPenalty: 2, scoreClip: 3 },
    );
    closeAll(unclipped.scores, [-3, 1]); // −2 − 2 = −4 → −3; 3 − 2 = 1
    assert.throws(() => shapeRewards(input, { ...plain, missingEosPenalty: -1 }), /missingEosPenalty must be ≥ 0/);
  });
});

describe('sampledEntropy', () => {
  it("is the mean over completions of the summed −log-probs of their tokens (TRL's objective/entropy)", () => {
    // Row 0: 1 + 2 + 0.5 = 3.5; row 1: 1 + 1 = 2 (the padding's 0 is not counted): mean 2.75.
    close(sampledEntropy(input.logp, input.mask, 2, 3), 2.75);
    close(sampledEntropy([-0.25, -7], [1, 0], 1, 2), 0.25);
  });
});
