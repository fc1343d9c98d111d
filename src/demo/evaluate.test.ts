import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partingPoint } from './evaluate.js';

const run = (gold: number[], proxy: number[]) =>
  gold.map((g, i) => ({ step: i + 1, kl: 2 * i, gold: g, proxy: proxy[i] }));

test('partingPoint finds where gold peaks while the proxy keeps rising', () => {
  const p = partingPoint(run([0, 0.2, 0.4, 0.5, 0.45, 0.2, 0, -0.2], [0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1]))!;
  assert.equal(p.step, 4);
  assert.ok(Math.abs(p.gold - (0.4 + 0.5 + 0.45) / 3) < 1e-12, 'a 3-point moving mean');
  assert.ok(Math.abs(p.kl - 6) < 1e-12);
  assert.ok(p.goldChangeAfter < -0.5 && p.proxyChangeAfter > 0.8);
  assert.equal(p.parted, true);
});

test('partingPoint: a run whose gold still rises at its end has not parted', () => {
  const p = partingPoint(run([0, 0.1, 0.2, 0.3, 0.4], [0, 0.1, 0.2, 0.3, 0.4]))!;
  assert.equal(p.step, 5);
  assert.equal(p.parted, false);
  // Gold flat after its peak while the proxy climbs: they have parted, though gold did not fall much.
  const flat = partingPoint(run([0, 0.2, 0.4, 0.4, 0.39, 0.4, 0.39], [0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]))!;
  assert.equal(flat.parted, true);
  assert.ok(flat.goldChangeAfter > -0.02 && flat.proxyChangeAfter > 0.5);
  // Noise is not parting: a proxy rise under minProxyRise does not count.
  const small = run([0, 0.1, 0.2, 0.19, 0.18], [0, 0.1, 0.2, 0.22, 0.24]);
  assert.equal(partingPoint(small)!.parted, true);
  assert.equal(partingPoint(small, 0.05)!.parted, false);
  // Gold and proxy falling together is not over-optimization either.
  assert.equal(partingPoint(run([0, 0.5, 0.6, 0.2, 0], [0, 0.5, 0.6, 0.2, 0]))!.parted, false);
});

test('partingPoint: one noisy batch does not make the peak', () => {
  // The highest single batch is step 3's, but the steadier plateau around step 6 is higher on average.
  const p = partingPoint(run([0, 0.1, 0.8, 0.1, 0.5, 0.5, 0.5, 0.2], [0, 1, 2, 3, 4, 5, 6, 7]))!;
  assert.equal(p.step, 6);
  assert.equal(partingPoint(run([0, 1], [0, 1])), null, 'too few points to say');
});
