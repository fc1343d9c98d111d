// ---- activation checkpointing (gradient checkpointing) ----
// A region (a transformer block) whose intermediates are not kept for backward: its forward runs on a
// graph that records no tape and is disposed at once, keeping only the region's inputs and its output;
// backward runs the region again from the inputs on a recording graph of its own, backpropagates
// through it and disposes it. One more forward per region buys activations of one region at a time
// instead of all of them (Chen et al. 2016, "Training deep nets with sublinear memory cost").
//
// Rules for fn (checked where they can be):
// - Every tensor it reads that needs gradients is one of `inputs` or a Parameter (whose gradient
//   buffer outlives graphs); others throw in forward.
// - It computes the same thing from the same inputs: an op that draws random numbers (dropout) draws
//   them through `g.random(rng)`, which replays in the recomputation the numbers the forward drew, and
//   state it reads (an adapter's on/off switch) does not change between the forward and backward. The
//   recomputed output is compared with the forward's, and a difference throws.
// - It may read tensors that need no gradients from outside (masks, constants) as long as they live
//   until backward.
// Parameter gradients accumulate where they always do; frozen parameters (requiresGrad false) get none.

import { Graph } from '../graph.js';
import type { RNG, RNGState } from '../rng.js';
import { Parameter, Tensor } from '../tensor.js';

/**
 * fn(g, inputs) on g, without keeping fn's intermediates for backward (recomputed there instead).
 * On an inference graph, or inside another checkpointed region, it is plain fn(g, inputs).
 */
export function checkpoint(g: Graph, inputs: Tensor[], fn: (g: Graph, inputs: Tensor[]) => Tensor): Tensor {
  if (!g.recording || g.region) return fn(g, inputs);
  const random = new Map<RNG, RNGState>();
  const buffers = new Set(inputs.map((t) => t.data.buffer));
  const fg = new Graph(true, { phase: 'forward', random, replays: new Map(), buffers });
  let y: Tensor;
  try {
    const out = fn(fg, inputs);
    // The output is copied to g: fn's buffers go back to the pool now, for the next region's forward.
    y = new Tensor(g.alloc(out.size), out.shape, out.requiresGrad);
    y.data.set(out.data);
  } finally {
    fg.dispose();
  }
  g.onBackward(y, () => {
    const rg = new Graph(true, { phase: 'recompute', random, replays: new Map(), buffers: new Set() });
    try {
      // Stand-ins for the inputs: their gradients are rg's, added into g's below. Parameters pass as
      // themselves, their gradients accumulating in place.
      const leaves = inputs.map((t) => (t instanceof Parameter ? t : new Tensor(t.data, t.shape, t.requiresGrad)));
      const out = fn(rg, leaves);
      checkSameOutput(out, y);
      if (out.requiresGrad) rg.backwardFrom(out, y.grad!);
      leaves.forEach((l, i) => {
        if (l !== inputs[i] && l.grad) g.addGrad(inputs[i], l.grad);
      });
    } finally {
      rg.dispose();
    }
  });
  return y;
}

/**
 * Throws unless the recomputation gave the forward's output. Equal to the bit with deterministic kernels;
 * the tolerance only forgives a BLAS whose threads may sum in another order (Accelerate).
 */
function checkSameOutput(out: Tensor, y: Tensor): void {
  if (out.size !== y.size)
    throw new Error(`checkpoint: the recomputed output has ${out.size} elements, the forward's ${y.size}`);
  const a = out.data,
    b = y.data;
  for (let i = 0; i < b.length; i++) {
    // NOTE: equal infinities and NaN on both sides pass: a diverging run is the loop's to report.
    const same = a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]));
    if (same || Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(b[i]))) continue;
    throw new Error(
      `checkpoint: the recomputation in backward gave ${a[i]} at element ${i} where the forward gave ${b[i]}: ` +
        'the checkpointed function must compute the same from the same inputs (draw random numbers through ' +
        'g.random(rng); change no state it reads, such as LoRA adapters switched off, before backward)',
    );
  }
}

/**
 * fn(g, inputs) on an inference graph, with fn's intermediates returned to the pool as soon as its output
 * is copied out: a forward without gradients holds one block's buffers at a time instead of every layer's
 * (a 512-token sequence of a 30-layer model is about 1 GB of them).
 */
export function scoped(g: Graph, inputs: Tensor[], fn: (g: Graph, inputs: Tensor[]) => Tensor): Tensor {
  if (g.recording) throw new Error('ops.scoped is for inference graphs; a recording graph keeps what backward needs');
  const sg = Graph.inference();
  try {
    const out = fn(sg, inputs);
    const y = new Tensor(g.alloc(out.size), out.shape, false);
    y.data.set(out.data);
    return y;
  } finally {
    sg.dispose();
  }
}
