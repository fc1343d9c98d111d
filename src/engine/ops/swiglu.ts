// ---- SiLU and the SwiGLU gate (the Llama family's MLP: down(silu(gate(x)) ⊙ up(x))) ----

import { Graph } from '../graph.js';
import { sigmoid } from '../math.js';
import { Tensor } from '../tensor.js';

/** silu(x) = x · σ(x) element-wise (PyTorch's F.silu, Hugging Face's "silu" activation). */
export function silu(g: Graph, x: Tensor): Tensor {
  const y = g.output(x.shape, x);
  const xd = x.data,
    yd = y.data;
  for (let i = 0; i < yd.length; i++) yd[i] = xd[i] * sigmoid(xd[i]);
  g.onBackward(y, () => {
    const dy = y.grad!,
      dx = g.gradOf(x);
    for (let i = 0; i < dy.length; i++) dx[i] += dy[i] * siluGrad(xd[i]);
  });
  return y;
}

/**
 * silu(gate) ⊙ up, same size, as one output (no silu(gate) tensor in between).
 * gate, up: (N, I), the MLP's two input projections; returns (N, I).
 */
export function swiglu(g: Graph, gate: Tensor, up: Tensor): Tensor {
  if (gate.size !== up.size)
    throw new Error(`swiglu: gate has shape [${gate.shape.join(', ')}] but up has [${up.shape.join(', ')}]`);
  const y = g.output(gate.shape, gate, up);
  const a = gate.data,
    u = up.data,
    yd = y.data;
  // NOTE: silu(gate) is rounded to float32 before the product, as PyTorch stores act_fn(gate) first.
  for (let i = 0; i < yd.length; i++) yd[i] = Math.fround(a[i] * sigmoid(a[i])) * u[i];
  g.onBackward(y, () => {
    const dy = y.grad!;
    // σ is recomputed rather than kept: one exp per element costs less than a buffer the size of the MLP.
    if (gate.requiresGrad) {
      const da = g.gradOf(gate);
      for (let i = 0; i < dy.length; i++) da[i] += dy[i] * u[i] * siluGrad(a[i]);
    }
    if (up.requiresGrad) {
      const du = g.gradOf(up);
      for (let i = 0; i < dy.length; i++) du[i] += dy[i] * a[i] * sigmoid(a[i]);
    }
  });
  return y;
}

/** d silu / dx = σ(x) · (1 + x · (1 − σ(x))). */
function siluGrad(x: number): number {
  const s = sigmoid(x);
  return s * (1 + x * (1 - s));
}
