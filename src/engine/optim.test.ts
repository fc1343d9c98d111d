import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AdamW, clipGradNorm, learningRate } from './optim.js';
import { WorkerPool, shareGradients, shareParameters } from './parallel.js';
import { RNG } from './rng.js';
import { Parameter } from './tensor.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';

describe('AdamW', () => {
  it('matches a hand-computed first step (decay only on matrices)', () => {
    const w = new Parameter('w', Float32Array.from([1, -2, 3, 4]), [2, 2]);
    const b = new Parameter('b', Float32Array.from([0.5]), [1]);
    w.zeroGrad();
    b.zeroGrad();
    w.grad!.set([0.1, -0.2, 0, 1]);
    b.grad![0] = -3;
    const opt = new AdamW([w, b], { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 });
    opt.update();
    // step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g|+eps) = ±lr (0 where g = 0)
    const want = [1 * 0.95 - 0.1, -2 * 0.95 + 0.1, 3 * 0.95, 4 * 0.95 - 0.1];
    assertAllClose(w.data, want, 1e-6, 'w');
    assertClose(b.data[0], 0.6, 1e-6, 'b');
  });
  it('minimizes a quadratic', () => {
    const p = new Parameter('p', Float32Array.from([5, -3]), [2]);
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0 });
    for (let i = 0; i < 500; i++) {
      opt.zeroGrad();
      p.grad!.set([2 * (p.data[0] - 1), 2 * (p.data[1] + 2)]);
      opt.update();
    }
    assertAllClose(p.data, [1, -2], 1e-2, 'the minimum');
  });
});

describe('AdamW across threads', () => {
  after(() => WorkerPool.shutdown());
  it('with shared weights and gradients on two threads, the same weights and moments as on one', () => {
    process.env.RLHF_THREADS = '2';
    // Over a million elements (the threshold), cut across parameter boundaries; a vector gets no decay.
    const shapes = [[700, 1000], [300, 1001], [100003], [5]];
    const make = () => {
      const rng = new RNG(7);
      return shapes.map((shape, k) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const p = new Parameter(
          `p${k}`,
          Float32Array.from({ length: n }, () => rng.normal()),
          shape,
        );
        p.grad = Float32Array.from({ length: n }, () => 0.01 * rng.normal());
        return p;
      });
    };
    const one = make(),
      two = make();
    shareParameters(two);
    shareGradients(two);
    assert.ok(two.every((p) => p.grad!.buffer instanceof SharedArrayBuffer));
    const o1 = new AdamW(one, { lr: 1e-2, weightDecay: 0.1 }),
      o2 = new AdamW(two, { lr: 1e-2, weightDecay: 0.1 });
    const pool = WorkerPool.get()!;
    let shares = 0;
    const start = pool.start.bind(pool);
    pool.start = (...a) => {
      shares++;
      start(...a);
    };
    for (let step = 0; step < 3; step++) {
      o1.update();
      o2.update(1e-2);
    }
    assert.equal(shares, 3, 'the worker took a share of each update with shared buffers, none without');
    one.forEach((p, k) => {
      assert.deepEqual(two[k].data, p.data, p.name);
      assert.deepEqual(o2.m[k], o1.m[k], `m of ${p.name}`);
      assert.deepEqual(o2.v[k], o1.v[k], `v of ${p.name}`);
      assert.equal(two[k].version, p.version);
    });
  });
});

describe('gradient buffers', () => {
  it('a parameter gets its buffer at its first zeroGrad or backward, a frozen one never', () => {
    const p = new Parameter('p', new Float32Array(3), [3]);
    assert.equal(p.grad, null, 'no buffer before it is needed');
    p.zeroGrad();
    assert.deepEqual(Array.from(p.grad!), [0, 0, 0]);
    p.freeze();
    assert.equal(p.grad, null);
    p.zeroGrad();
    assert.equal(p.grad, null, 'a frozen parameter gets none');
    assert.throws(() => new AdamW([p]), /parameter p is frozen/);
  });
});

describe('clipGradNorm', () => {
  it('scales to the max norm and returns the norm before', () => {
    const p = new Parameter('p', new Float32Array(2), [2]);
    p.zeroGrad();
    p.grad!.set([3, 4]);
    assert.equal(clipGradNorm([p], 1), 5);
    assertClose(Math.hypot(p.grad![0], p.grad![1]), 1, 1e-5, 'clipped norm');
    p.grad!.set([0.3, 0.4]);
    clipGradNorm([p], 1);
    assert.deepEqual(Array.from(p.grad!), [Math.fround(0.3), Math.fround(0.4)]);
  });
});

describe('learningRate', () => {
  it('warms up linearly then decays by a cosine to minLr', () => {
    const s = { lr: 1, warmupSteps: 10, totalSteps: 110, minLr: 0.1 };
    assert.equal(learningRate(0, s), 0.1);
    assert.equal(learningRate(9, s), 1);
    assertClose(learningRate(60, s), 0.55, 1e-12, 'lr at step 60');
    assertClose(learningRate(110, s), 0.1, 1e-12, 'lr at step 110');
  });
});
