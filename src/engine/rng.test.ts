import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RNG } from './rng.js';
import { assertClose } from '../test-support/assert-close.js';

describe('RNG', () => {
  it('same seed, same stream; different seeds differ', () => {
    const a = new RNG(7),
      b = new RNG(7),
      c = new RNG(8);
    const xa = Array.from({ length: 5 }, () => a.nextU32());
    assert.deepEqual(
      xa,
      Array.from({ length: 5 }, () => b.nextU32()),
    );
    assert.notDeepEqual(
      xa,
      Array.from({ length: 5 }, () => c.nextU32()),
    );
  });
  it('state round-trips', () => {
    const a = new RNG(3);
    a.normal();
    const s = a.getState();
    const want = [a.normal(), a.uniform(), a.int(10)];
    const b = new RNG(99);
    b.setState(s);
    assert.deepEqual([b.normal(), b.uniform(), b.int(10)], want);
  });
  it('uniform and normal have the right moments', () => {
    const r = new RNG(1);
    let su = 0,
      sn = 0,
      sn2 = 0;
    const n = 100000;
    for (let i = 0; i < n; i++) {
      su += r.uniform();
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    assertClose(su / n, 0.5, 0.01, 'mean of uniform');
    assertClose(sn / n, 0, 0.02, 'mean of normal');
    assertClose(sn2 / n, 1, 0.02, 'second moment of normal');
  });
  it('categorical follows its weights', () => {
    const r = new RNG(5);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[r.categorical([1, 0, 3])]++;
    assert.equal(counts[1], 0);
    assertClose(counts[2] / counts[0], 3, 0.2, 'ratio of the draws of weights 3 and 1');
  });
});
