import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { EpochOrder } from './batching.js';

describe('EpochOrder', () => {
  it('visits every item once per epoch, in an order that changes from epoch to epoch', () => {
    const o = new EpochOrder(50, 3);
    const e0 = Array.from({ length: 50 }, (_, k) => o.at(k));
    const e1 = Array.from({ length: 50 }, (_, k) => o.at(50 + k));
    assert.deepEqual(
      [...e0].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(
      [...e1].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.notDeepEqual(e0, e1);
    assert.notDeepEqual(
      e0,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('gives step s the same batch whatever came before (resuming is exact), and depends on the seed', () => {
    const walked = new EpochOrder(13, 7);
    const batches = Array.from({ length: 9 }, (_, s) => walked.batch(s, 4)); // crosses epochs 0–2
    const resumed = new EpochOrder(13, 7);
    assert.deepEqual(resumed.batch(6, 4), batches[6]);
    assert.deepEqual(resumed.batch(2, 4), batches[2]); // going back to an earlier epoch
    assert.notDeepEqual(new EpochOrder(13, 8).batch(0, 13), new EpochOrder(13, 7).batch(0, 13));
  });

  it('is the permutation the trainers drew before it existed: RNG(seed·1000003 + epoch).shuffle', () => {
    const old = new RNG((5 * 1000003 + 2) >>> 0).shuffle(Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(Array.from(EpochOrder.permutation(20, 5, 2)), old);
    assert.throws(() => new EpochOrder(0, 1), /needs at least one item, got 0/);
  });
});
