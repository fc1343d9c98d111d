// A model's linear layers as named modules, so adapters (LoRA, model/lora.ts) can attach to them by
// Hugging Face module name ("model.layers.0.self_attn.q_proj", "transformer.h.0.attn.c_attn").

import type { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import type { Parameter, Tensor } from '../engine/tensor.js';

/** Something added to a linear layer's output (a LoRA adapter): returns y + Δ(x). */
export interface LinearAdapter {
  /** False turns the adapter off (the base model, e.g. the reference policy of DPO and PPO). */
  enabled: boolean;
  forward(g: Graph, x: Tensor, y: Tensor): Tensor;
}

export interface Linear {
  /** Hugging Face module name (the weight is `${name}.weight`). */
  readonly name: string;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  /** True: weight (out, in) as torch.nn.Linear; false: (in, out) as GPT-2's Conv1D. */
  readonly outIn: boolean;
  adapter: LinearAdapter | null;
}

export function linearModule(name: string, weight: Parameter, bias: Parameter | null, outIn: boolean): Linear {
  return { name, weight, bias, outIn, adapter: null };
}

/** Features in and out of a linear layer. */
export function linearShape(lin: Linear): { inFeatures: number; outFeatures: number } {
  const [r, c] = lin.weight.shape;
  return lin.outIn ? { inFeatures: c, outFeatures: r } : { inFeatures: r, outFeatures: c };
}

/** y = x·W (+ b), plus the adapter's term when one is attached and enabled. */
export function project(g: Graph, x: Tensor, lin: Linear): Tensor {
  const y = ops.linear(g, x, lin.weight, lin.bias, lin.outIn);
  return lin.adapter?.enabled ? lin.adapter.forward(g, x, y) : y;
}
