import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleissKappa, krippendorffAlpha, meanAbsDiff } from './reliability.js';

const close = (a: number | null, b: number) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

test("Fleiss' κ: 1 for perfect agreement, −1 for systematic disagreement, null when chance explains all", () => {
  close(
    fleissKappa([
      [true, true],
      [false, false, false],
    ]),
    1,
  );
  // Every pair disagrees: P̄ = 0, p = 1/2, Pₑ = 1/2.
  close(
    fleissKappa([
      [true, false],
      [false, true],
    ]),
    -1,
  );
  assert.equal(fleissKappa([[true, true], [true]]), null, 'every value the same');
  assert.equal(fleissKappa([[true], [false]]), null, 'no unit of two values');
  // A unit of one value is left out: the same as without it.
  assert.equal(
    fleissKappa([[true, true, false], [false, false], [true]]),
    fleissKappa([
      [true, true, false],
      [false, false],
    ]),
  );
});

test("Krippendorff's α (interval): 1 when units agree, below 0 when they disagree more than chance", () => {
  close(
    krippendorffAlpha([
      [2, 2],
      [6, 6, 6],
    ]),
    1,
  );
  // Two units [1, 7] and [7, 1]: D_o = (2·36/1 + 2·36/1) / 4 = 36, all 4 values: Σ(ordered) = 2·(4·100 − 256) = 288,
  // D_e = 288 / 12 = 24; α = 1 − 36/24 = −0.5.
  close(
    krippendorffAlpha([
      [1, 7],
      [7, 1],
    ]),
    -0.5,
  );
  assert.equal(krippendorffAlpha([[4, 4], [4]]), null, 'every value the same');
  assert.equal(krippendorffAlpha([[3], [5]]), null, 'nothing pairable');
});

test('meanAbsDiff averages |a − b| over the pairs within units', () => {
  assert.equal(meanAbsDiff([[1, 2, 4], [7], [5, 5]]), (1 + 3 + 2 + 0) / 4);
  assert.equal(meanAbsDiff([[3]]), null);
});
