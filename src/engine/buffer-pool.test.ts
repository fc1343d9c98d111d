import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from './buffer-pool.js';
import { Graph, poolStats } from './graph.js';

/** One "step": takes buffers of the given lengths, then gives them all back (as Graph.dispose does). */
function step(pool: BufferPool, lengths: number[]): Float32Array[] {
  const bufs = lengths.map((n) => pool.take(n));
  for (const b of bufs) pool.give(b);
  return bufs;
}

describe('BufferPool', () => {
  it('gives back the same buffers when a step repeats the last one’s shapes', () => {
    const pool = new BufferPool();
    const first = step(pool, [100, 100, 7]);
    const again = step(pool, [100, 100, 7]);
    assert.deepEqual(new Set(again), new Set(first));
    assert.deepEqual(pool.stats(), { pooled: 207, inUse: 0, highWater: 207 });
  });

  it('keeps at most one step’s worth when every step has a new shape', () => {
    // Sequences padded to the batch's longest: each step's activations have other lengths.
    const pool = new BufferPool();
    const stepOf = (T: number) => [T * 64, T * 64, T * T * 8, T * 256];
    let largest = 0;
    for (let T = 4; T <= 128; T += 4) {
      const lengths = stepOf(T);
      largest = Math.max(
        largest,
        lengths.reduce((a, b) => a + b, 0),
      );
      step(pool, lengths);
      const s = pool.stats();
      // A request may hold a free buffer up to twice its length: at most twice the largest step.
      assert.ok(s.pooled <= 2 * largest, `T=${T}: ${s.pooled} floats pooled, the largest step is ${largest}`);
    }
    // The old pool (free lists per length, never trimmed) held the sum over all 32 shapes.
    const sumOfAll = Array.from({ length: 32 }, (_, k) => stepOf(4 * (k + 1)).reduce((a, b) => a + b, 0)).reduce(
      (a, b) => a + b,
    );
    assert.ok(pool.stats().pooled < sumOfAll / 10);
  });

  it('evicts the lengths used longest ago first', () => {
    const pool = new BufferPool();
    const [older, newer] = step(pool, [600, 400]); // given back in that order
    assert.deepEqual(pool.stats(), { pooled: 1000, inUse: 0, highWater: 1000 });
    // A new length goes over the high-water mark: the 600 (given back before the 400) is dropped.
    const fresh = pool.take(10);
    assert.equal(pool.stats().pooled, 400);
    assert.equal(pool.take(400), newer);
    assert.notEqual(pool.take(600), older);
    pool.give(fresh);
  });

  it('counts buffers in use against the bound, so nothing pooled is evicted while a step reuses it', () => {
    const pool = new BufferPool();
    const a = pool.take(300),
      b = pool.take(300);
    pool.give(a);
    pool.give(b);
    const a2 = pool.take(300);
    const c = pool.take(100); // 300 in use + 300 pooled + 100 new > 600: evicts the free 300
    assert.equal(pool.stats().pooled, 0);
    assert.equal(pool.stats().inUse, 400);
    assert.ok(a2 === a || a2 === b);
    pool.give(a2);
    pool.give(c);
    assert.deepEqual(pool.stats(), { pooled: 400, inUse: 0, highWater: 600 });
  });

  it('serves a shorter request from a free buffer up to twice as long, and takes it back whole', () => {
    const pool = new BufferPool();
    const [big] = step(pool, [1000]);
    const view = pool.take(600); // a step with shorter sequences: no new buffer
    assert.equal(view.length, 600);
    assert.equal(view.buffer, big.buffer);
    assert.deepEqual(pool.stats(), { pooled: 0, inUse: 1000, highWater: 1000 });
    pool.give(view);
    const again = pool.take(1000);
    assert.equal(again.buffer, big.buffer);
    pool.give(again);
    // More than twice as long is too much waste: a new buffer (and the old one makes room for it).
    const small = pool.take(400);
    assert.notEqual(small.buffer, big.buffer);
    assert.equal(small.length, 400);
  });

  it('a request served by a longer buffer after a steady run still keeps the pool within one step', () => {
    const pool = new BufferPool();
    const stepOf = (T: number) => [T * 64, T * 64, T * T * 8, T * 256];
    const T = [128, 100, 124, 96, 120, 112, 128, 104];
    step(pool, stepOf(T[0]));
    const after = pool.stats().highWater;
    for (const t of T.slice(1)) step(pool, stepOf(t));
    // Every later step is no longer than the first: all of them ran on its buffers.
    assert.equal(pool.stats().highWater, after);
    assert.equal(pool.stats().pooled, after);
  });

  it('clear drops the free buffers', () => {
    const pool = new BufferPool();
    const [x] = step(pool, [64]);
    pool.clear();
    assert.equal(pool.stats().pooled, 0);
    assert.notEqual(pool.take(64), x);
  });
});

describe('Graph buffer pool', () => {
  it('a disposed graph returns what it took, and the next one of the same shapes reuses it', () => {
    const run = () => {
      const g = Graph.inference();
      const bufs = [g.alloc(123), g.zeros(45)];
      g.dispose();
      return bufs;
    };
    const inUse = poolStats().inUse;
    const first = run();
    assert.equal(poolStats().inUse, inUse);
    assert.deepEqual(new Set(run()), new Set(first));
  });
});
