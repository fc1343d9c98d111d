import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { judgeWinRate, logRatioAccuracy, memberSpread } from './monitor-signals.js';

test('logRatioAccuracy: the log-ratio margin ranks the labeled winner first, ties half', () => {
  // pair 0: (−5 − −6) − (−7 − −7) = 1 > 0 → right; pair 1: (−4 − −3) − (−2 − −2) = −1 → wrong;
  // pair 2: (−3 − −3) − (−9 − −9) = 0 → half. (1 + 0 + 0.5) / 3 = 0.5
  assertClose(logRatioAccuracy([-5, -4, -3], [-6, -3, -3], [-7, -2, -9], [-7, -2, -9]), 0.5, 1e-12);
  // The reference against itself: every margin 0, exactly one half.
  assert.equal(logRatioAccuracy([-1, -2], [-1, -2], [-3, -4], [-3, -4]), 0.5);
  // Float noise between two forward passes of the same weights is a tie, not a verdict.
  assert.equal(logRatioAccuracy([-5 + 1e-6], [-5], [-7], [-7 + 1e-6]), 0.5);
  assert.equal(logRatioAccuracy([-5 + 0.01], [-5], [-7], [-7]), 1);
  assert.ok(Number.isNaN(logRatioAccuracy([], [], [], [])));
  assert.throws(() => logRatioAccuracy([1], [1, 2], [1], [1]), /refChosen has 2 pairs, policyChosen 1/);
});

test('memberSpread: the population standard deviation across members, per item', () => {
  // item 0: members 1, 3 → mean 2, sd 1; item 1: 2, 2 → 0. With a third member 5, 2: item 0 of 1, 3, 5 →
  // sd √(8/3); item 1 all 2 → 0.
  assertAllClose(
    memberSpread([
      [1, 2],
      [3, 2],
    ]),
    [1, 0],
  );
  assertAllClose(
    memberSpread([
      [1, 2],
      [3, 2],
      [5, 2],
    ]),
    [Math.sqrt(8 / 3), 0],
  );
  assert.throws(() => memberSpread([[1]]), /at least 2 members/);
  assert.throws(() => memberSpread([[1, 2], [1]]), /member 1 scored 1 items, member 0 2/);
});

test('judgeWinRate: wins 1, ties a half, unreadable answers left out and counted', () => {
  // judged: policy, reference, tie, policy → (1 + 0 + 0.5 + 1) / 4 = 0.625; 1 of 5 unreadable
  const r = judgeWinRate(['policy', 'reference', null, 'tie', 'policy']);
  assertClose(r.winRate, 0.625, 1e-12);
  assertClose(r.invalid, 0.2, 1e-12);
  assert.ok(Number.isNaN(judgeWinRate([null]).winRate));
  assert.equal(judgeWinRate([]).invalid, 0);
});
