import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { movingMean3, partingPoint } from './parting.js';

const run = (gold: number[], proxy: number[]) => gold.map((g, i) => ({ step: 2 * i, kl: i, gold: g, proxy: proxy[i] }));

test('movingMean3: the mean of each point and its neighbours, two points at the ends', () => {
  // [1, 4, 7, 1]: (1+4)/2, (1+4+7)/3, (4+7+1)/3, (7+1)/2
  assertAllClose(movingMean3([1, 4, 7, 1]), [2.5, 4, 4, 4]);
  assertAllClose(movingMean3([3]), [3]);
  assert.deepEqual(movingMean3([]), []);
});

test('partingPoint: the judge peaks at step 4 while the proxy climbs on', () => {
  // gold    0, 0.3, 0.6, 0.3, 0     → smoothed 0.15, 0.3, 0.4, 0.3, 0.15: the peak is index 2 (step 4)
  // proxy   0, 1, 2, 3, 4           → smoothed 0.5, 1, 2, 3, 3.5: the rise after the peak is 3.5 − 2 = 1.5
  const p = partingPoint(run([0, 0.3, 0.6, 0.3, 0], [0, 1, 2, 3, 4]))!;
  assert.equal(p.step, 4);
  assertClose(p.gold, 0.4, 1e-12);
  assertClose(p.goldChangeAfter, 0.15 - 0.4, 1e-12);
  assertClose(p.proxyChangeAfter, 1.5, 1e-12);
  assertClose(p.kl, 2, 1e-12);
  assert.equal(p.parted, true);
  assert.equal(
    partingPoint(run([0, 0.3, 0.6, 0.3, 0], [0, 1, 2, 3, 4]), 1.5)!.parted,
    false,
    'a rise of 1.5 is not > 1.5',
  );
});

test('partingPoint read online: the same run judged after each point', () => {
  const gold = [0, 0.3, 0.6, 0.3, 0],
    proxy = [0, 1, 2, 3, 4];
  const parted = [3, 4, 5].map((n) => partingPoint(run(gold.slice(0, n), proxy.slice(0, n)), 0.5)!.parted);
  // With 3 points the last (2-point) mean 0.45 is the peak: nothing to say yet. With 4, the peak is index 2
  // (0.4 against 0.45 → 0.4 then 0.3) and the proxy rose 2.5 − 2 = 0.5, not more than 0.5; with 5 it rose 1.5.
  assert.deepEqual(parted, [false, false, true]);
});
