import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph, poolStats } from '../graph.js';
import { RNG } from '../rng.js';
import { Parameter, Tensor } from '../tensor.js';
import * as ops from './index.js';

const rng = new RNG(7);
function param(name: string, shape: number[]): Parameter {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Parameter(name, rng.fillNormal(new Float32Array(n), 0.5), shape);
}

/** Inverted dropout drawing its mask through g.random, as every random op must (see Graph.random). */
function dropout(g: Graph, x: Tensor, p: number, gen: RNG): Tensor {
  const y = g.output(x.shape, x);
  const mask = g.alloc(x.size);
  const r = g.random(gen);
  for (let i = 0; i < x.size; i++) {
    mask[i] = r.uniform() < p ? 0 : 1 / (1 - p);
    y.data[i] = x.data[i] * mask[i];
  }
  g.onBackward(y, () => {
    const dx = g.gradOf(x);
    for (let i = 0; i < x.size; i++) dx[i] += y.grad![i] * mask[i];
  });
  return y;
}

// A two-block residual stack: x (N, C) → x + W2·tanh(W1·dropout(x)), twice, with shared weights
// per block; an embedding-like first layer so the blocks' input needs gradients without being a Parameter.
const N = 6,
  C = 4;
const w0 = param('w0', [C, C]);
const blocks = [0, 1].map((i) => ({ w1: param(`b${i}.w1`, [C, 2 * C]), w2: param(`b${i}.w2`, [2 * C, C]) }));
const params = [w0, ...blocks.flatMap((b) => [b.w1, b.w2])];
const input = Tensor.from(
  Array.from({ length: N * C }, () => rng.normal()),
  [N, C],
);

function block(g: Graph, x: Tensor, b: (typeof blocks)[number], gen: RNG | null): Tensor {
  const h = gen ? dropout(g, x, 0.3, gen) : x;
  return ops.add(g, x, ops.linear(g, ops.tanh(g, ops.linear(g, h, b.w1)), b.w2));
}

/** Loss and gradients of one step, with the blocks checkpointed or not. */
function step(checkpointed: boolean, gen: RNG | null = null): { loss: number; grads: Float32Array[] } {
  for (const p of params) p.zeroGrad();
  const g = new Graph();
  let x = ops.linear(g, input, w0);
  for (const b of blocks)
    x = checkpointed ? ops.checkpoint(g, [x], (cg, [xi]) => block(cg, xi, b, gen)) : block(g, x, b, gen);
  const loss = ops.sum(g, ops.square(g, x));
  g.backward(loss);
  const out = { loss: loss.item(), grads: params.map((p) => Float32Array.from(p.grad!)) };
  g.dispose();
  return out;
}

describe('ops.checkpoint', () => {
  it('gives the same loss and gradients as keeping the activations', () => {
    const plain = step(false),
      ckpt = step(true);
    assert.equal(ckpt.loss, plain.loss);
    ckpt.grads.forEach((gr, k) => assert.deepEqual(gr, plain.grads[k], params[k].name));
    assert.ok(plain.grads.every((gr) => gr.some((v) => v !== 0)));
  });

  it('replays the random numbers the forward drew (dropout), and leaves the generator as the forward left it', () => {
    const a = new RNG(11),
      b = new RNG(11);
    const plain = step(false, a),
      ckpt = step(true, b);
    assert.equal(ckpt.loss, plain.loss);
    ckpt.grads.forEach((gr, k) => assert.deepEqual(gr, plain.grads[k], params[k].name));
    assert.deepEqual(b.getState(), a.getState());
  });

  it('refuses a recomputation that differs from the forward (random numbers drawn around g.random)', () => {
    const gen = new RNG(3);
    const g = new Graph();
    const x = ops.linear(g, input, w0);
    const y = ops.checkpoint(g, [x], (cg, [xi]) => {
      const noise = Tensor.from(
        Array.from({ length: xi.size }, () => gen.uniform()),
        xi.shape,
      );
      return ops.add(cg, ops.linear(cg, xi, w0), noise);
    });
    assert.throws(() => g.backward(ops.sum(g, y)), /checkpoint: the recomputation in backward gave .* g\.random/);
    g.dispose();
  });

  it('gives the pool back what the recomputation took: nothing grows across steps', () => {
    step(true);
    const before = poolStats();
    for (let i = 0; i < 3; i++) step(true);
    const after = poolStats();
    assert.equal(after.inUse, before.inUse);
    assert.equal(after.highWater, before.highWater);
  });

  it('keeps fewer floats in use at once than the plain forward', () => {
    const peak = (checkpointed: boolean) => {
      const g = new Graph();
      let x = ops.linear(g, input, w0);
      for (const b of blocks) {
        const fn = (cg: Graph, [xi]: Tensor[]) => block(cg, xi, b, null);
        x = checkpointed ? ops.checkpoint(g, [x], fn) : fn(g, [x]);
      }
      const inUse = poolStats().inUse;
      g.dispose();
      return inUse;
    };
    const base = poolStats().inUse;
    assert.ok(peak(true) - base < peak(false) - base);
  });

  it('frozen parameters get no gradient; inputs that need none get none', () => {
    const b = blocks[0];
    b.w1.requiresGrad = false;
    b.w1.grad = null;
    try {
      const x = Tensor.from(input.data, input.shape);
      const g = new Graph();
      const y = ops.checkpoint(g, [x], (cg, [xi]) => block(cg, xi, b, null));
      assert.ok(y.requiresGrad);
      g.backward(ops.sum(g, y));
      assert.equal(b.w1.grad, null);
      assert.equal(x.grad, null);
      assert.ok(b.w2.grad!.some((v) => v !== 0));
      g.dispose();
    } finally {
      b.w1.requiresGrad = true;
      b.w1.grad = new Float32Array(b.w1.size);
    }
  });

  it('needs no backward when nothing in it needs gradients', () => {
    const x = Tensor.from(input.data, input.shape);
    const frozen = new Tensor(blocks[0].w1.data, blocks[0].w1.shape);
    const g = new Graph();
    const y = ops.checkpoint(g, [x], (cg, [xi]) => ops.linear(cg, xi, frozen));
    assert.equal(y.requiresGrad, false);
    g.dispose();
  });

  it('is the plain function on an inference graph and inside another checkpointed region', () => {
    const g = Graph.inference();
    let inner: Tensor | null = null;
    const y = ops.checkpoint(g, [input], (cg, [xi]) => (inner = ops.linear(cg, xi, w0)));
    assert.equal(y, inner);
    g.dispose();
    const plain = step(false);
    for (const p of params) p.zeroGrad();
    const t = new Graph();
    let x = ops.linear(t, input, w0);
    x = ops.checkpoint(t, [x], (cg, [xi]) =>
      ops.checkpoint(cg, [block(cg, xi, blocks[0], null)], (c2, [h]) => block(c2, h, blocks[1], null)),
    );
    t.backward(ops.sum(t, ops.square(t, x)));
    params.forEach((p, k) => assert.deepEqual(p.grad, plain.grads[k], p.name));
    t.dispose();
  });

  it('refuses a function that reads a tensor needing gradients that is not among its inputs', () => {
    const g = new Graph();
    const outside = ops.linear(g, input, w0);
    assert.throws(
      () => ops.checkpoint(g, [input], (cg, [xi]) => ops.add(cg, xi, outside)),
      /checkpoint: .*shape \[6, 4\].*neither one of its inputs nor a Parameter/,
    );
    g.dispose();
  });
});
