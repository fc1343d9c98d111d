import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evenSplit, splitEvenly } from './split.js';

describe('evenSplit', () => {
  it('cuts n items into contiguous parts whose sizes differ by at most one', () => {
    assert.deepEqual(evenSplit(10, 3), [
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    for (const [n, parts] of [
      [7, 2],
      [64, 3],
      [5, 5],
      [100, 7],
    ]) {
      const b = evenSplit(n, parts);
      assert.equal(b.length, parts);
      assert.equal(b[0][0], 0);
      assert.equal(b[b.length - 1][1], n);
      b.forEach(([s], k) => k > 0 && assert.equal(s, b[k - 1][1]));
      const sizes = b.map(([s, e]) => e - s);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n}/${parts}: ${sizes}`);
    }
  });

  it('never makes more parts than items, and always at least one', () => {
    assert.deepEqual(evenSplit(2, 4), [
      [0, 1],
      [1, 2],
    ]);
    assert.deepEqual(evenSplit(0, 4), [[0, 0]]);
    assert.deepEqual(evenSplit(5, 0), [[0, 5]]);
    assert.deepEqual(splitEvenly(['a', 'b', 'c'], 2), [['a'], ['b', 'c']]);
    assert.throws(() => evenSplit(-1, 2), /n must be a non-negative integer, got -1/);
  });
});
