// ---- low-rank update of a linear layer (LoRA, Hu et al. 2021) ----
// out = y + s · dropout(x) · Aᵀ · Bᵀ, with A (r, in) and B (out, r) in torch.nn.Linear's layout, as
// PEFT stores lora_A and lora_B. One op instead of four (two products, a scale, an add), so the
// (N, out) activations are written once.

import { gemm } from '../gemm.js';
import { Graph } from '../graph.js';
import { RNG } from '../rng.js';
import { Tensor } from '../tensor.js';

export interface LoraDropout {
  /** Probability of zeroing an input feature (kept ones are scaled by 1/(1 − p)). */
  p: number;
  rng: RNG;
}

/**
 * x (N, in), y (N, out) the base layer's output → y + scaling · drop(x) · Aᵀ · Bᵀ (N, out).
 * Dropout applies only on a recording (training) graph, as torch.nn.Dropout in train mode.
 */
export function loraUpdate(
  g: Graph,
  x: Tensor,
  y: Tensor,
  A: Tensor,
  B: Tensor,
  scaling: number,
  dropout: LoraDropout | null = null,
): Tensor {
  const cin = x.shape[x.shape.length - 1];
  const N = x.size / cin;
  const [r, ain] = A.shape;
  const cout = y.shape[y.shape.length - 1];
  if (A.shape.length !== 2 || ain !== cin)
    throw new Error(`loraUpdate: input has ${cin} features but lora_A has shape [${A.shape.join(', ')}]`);
  if (B.shape.length !== 2 || B.shape[0] !== cout || B.shape[1] !== r)
    throw new Error(`loraUpdate: lora_B has shape [${B.shape.join(', ')}], expected [${cout}, ${r}]`);
  if (y.size !== N * cout) throw new Error(`loraUpdate: output has ${y.size} elements, expected ${N}·${cout}`);
  const blas = gemm();
  const out = g.output(y.shape, x, y, A, B);

  // NOTE: the mask is kept (scaled by 1/(1 − p)) for the backward pass of x.
  let mask: Float32Array | null = null;
  let xd = x.data;
  if (dropout && dropout.p > 0 && g.recording) {
    mask = g.alloc(x.size);
    xd = g.alloc(x.size);
    const keep = 1 / (1 - dropout.p);
    // Through the graph, so that a checkpointed block's recomputation draws the same mask (ops.checkpoint).
    const rng = g.random(dropout.rng);
    for (let i = 0; i < mask.length; i++) {
      mask[i] = rng.uniform() < dropout.p ? 0 : keep;
      xd[i] = x.data[i] * mask[i];
    }
  }
  // h (N, r) = xd · Aᵀ;  out = y + s · h · Bᵀ
  const h = g.alloc(N * r);
  blas.sgemm(false, true, N, r, cin, 1, xd, 0, cin, A.data, 0, cin, 0, h, 0, r);
  out.data.set(y.data);
  blas.sgemm(false, true, N, cout, r, scaling, h, 0, r, B.data, 0, r, 1, out.data, 0, cout);

  g.onBackward(out, () => {
    const dout = out.grad!;
    if (y.requiresGrad) g.addGrad(y, dout);
    if (B.requiresGrad) {
      // dB (out, r) += s · doutᵀ · h
      blas.sgemm(true, false, cout, r, N, scaling, dout, 0, cout, h, 0, r, 1, g.gradOf(B), 0, r);
    }
    if (!A.requiresGrad && !x.requiresGrad) return;
    // dh (N, r) = s · dout · B
    const dh = g.alloc(N * r);
    blas.sgemm(false, false, N, r, cout, scaling, dout, 0, cout, B.data, 0, r, 0, dh, 0, r);
    // dA (r, in) += dhᵀ · xd
    if (A.requiresGrad) blas.sgemm(true, false, r, cin, N, 1, dh, 0, r, xd, 0, cin, 1, g.gradOf(A), 0, cin);
    if (x.requiresGrad) {
      if (!mask) {
        // dx (N, in) += dh · A; a first contribution overwrites.
        const first = !x.grad;
        const dx = first ? g.newGrad(x) : x.grad!;
        blas.sgemm(false, false, N, cin, r, 1, dh, 0, r, A.data, 0, cin, first ? 0 : 1, dx, 0, cin);
      } else {
        const t = g.alloc(x.size);
        blas.sgemm(false, false, N, cin, r, 1, dh, 0, r, A.data, 0, cin, 0, t, 0, cin);
        const dx = g.gradOf(x);
        for (let i = 0; i < t.length; i++) dx[i] += t[i] * mask[i];
      }
    }
  });
  return out;
}
