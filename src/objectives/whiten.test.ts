import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskedMean, maskedVar, maskedWhiten } from './whiten.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { FIXTURE_TOL, objectivesFixture, valid } from '../test-support/objectives-fixture.js';

// The last entry is padding and must not count.
const x = [2, 4, 6, 100],
  m = [1, 1, 1, 0];

describe('masked statistics', () => {
  it('mean and variance over valid entries', () => {
    assertClose(maskedMean(x, m), 4); // (2 + 4 + 6)/3
    assertClose(maskedVar(x, m), 4); // (4 + 0 + 4)/(3 − 1)
    assertClose(maskedVar(x, m, false), 8 / 3); // (4 + 0 + 4)/3
  });

  it('whitens to mean 0, std 1, zeros on padding', () => {
    // std = 2: (2 − 4)/2, 0, (6 − 4)/2
    assertAllClose(maskedWhiten(x, m), [-1, 0, 1, 0]);
    // biased: std = √(8/3) = 1.63299316 → ±2/1.63299316 = ±1.22474487
    assertAllClose(maskedWhiten(x, m, { unbiased: false }), [-1.22474487, 0, 1.22474487, 0]);
  });

  it('shiftMean: false keeps the mean (TRL shift_mean=False)', () => {
    assertAllClose(maskedWhiten(x, m, { shiftMean: false }), [3, 4, 5, 0]); // −1 + 4, 0 + 4, 1 + 4
  });

  it('explains degenerate masks', () => {
    assert.throws(() => maskedMean(x, [0, 0, 0, 0]), /no valid entry/);
    assert.throws(
      () => maskedVar(x, [1, 0, 0, 0]),
      /1 valid entry cannot give an unbiased variance; use more tokens or unbiased: false/,
    );
    assertClose(maskedVar(x, [1, 0, 0, 0], false), 0);
  });
});

describe('whitening against TRL and lm-human-preferences in PyTorch (tests/fixtures/objectives.json)', () => {
  const w = objectivesFixture().whiten;

  it("masked mean, variance and whitening as TRL's masked_mean / masked_var / masked_whiten", () => {
    assertClose(maskedMean(w.values, w.mask), w.mean, FIXTURE_TOL, 'mean');
    assertClose(maskedVar(w.values, w.mask), w.var_unbiased, FIXTURE_TOL, 'unbiased variance');
    assertClose(maskedVar(w.values, w.mask, false), w.var_biased, FIXTURE_TOL, 'biased variance');
    // NOTE: on purpose, padding is 0 here; TRL whitens it too, so compare the valid entries.
    const white = maskedWhiten(w.values, w.mask);
    assertAllClose(valid(white, w.mask), valid(w.whiten, w.mask), FIXTURE_TOL, 'valid entries, shift_mean=True');
    const kept = maskedWhiten(w.values, w.mask, { shiftMean: false });
    assertAllClose(
      valid(kept, w.mask),
      valid(w.whiten_keep_mean, w.mask),
      FIXTURE_TOL,
      'valid entries, shift_mean=False',
    );
    assert.ok(white.every((x, i) => w.mask[i] || x === 0));
  });

  it("lm-human-preferences' whiten (every entry, population variance) is unbiased: false with a full mask", () => {
    const all = w.values.map(() => 1);
    assertAllClose(maskedWhiten(w.values, all, { unbiased: false }), w.lmhp_whiten, FIXTURE_TOL, 'whiten');
    assertAllClose(
      maskedWhiten(w.values, all, { unbiased: false, shiftMean: false }),
      w.lmhp_whiten_keep_mean,
      FIXTURE_TOL,
      'whiten, shift_mean=False',
    );
  });
});
