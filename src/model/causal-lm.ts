// The one interface every model family implements (GPT-2, Llama, Qwen2, Qwen3), so every trainer,
// sampler and server works on each. Parameter names are Hugging Face's for the family, so a
// checkpoint is the parameter map.

import type { Graph } from '../engine/graph.js';
import type { Parameter, Tensor } from '../engine/tensor.js';
import type { ModelConfig } from './config.js';
import type { CacheRows } from './kv-cache.js';
import type { Linear } from './linear.js';

export interface CausalLM {
  readonly config: ModelConfig;
  /** Every trainable tensor, in a fixed order (the optimizer's and the weight transfer's order). */
  readonly params: Parameter[];
  /**
   * The output matrix (V, C), logits = hidden · lmHeadᵀ: GPT-2's tied wte, Llama's lm_head.weight or its tied
   * embedding. model/lm-head.ts computes log-probabilities through it without (B·T, V) logits.
   */
  readonly lmHead: Parameter;
  /** The linear layers adapters can attach to (attention and MLP projections, not the LM head). */
  readonly linears: Linear[];
  /**
   * Recompute each block's activations in backward instead of keeping them from the forward (training
   * graphs without a KV cache only; ops.checkpoint): memory for one block's activations instead of all
   * of them, for about one more forward pass of time. Default false; clone() keeps it.
   */
  gradientCheckpointing: boolean;
  /** The parameter with a given Hugging Face name. */
  param(name: string): Parameter;
  /**
   * Final hidden states after the last norm: ids (B·T) → (B, T, C). The one forward of the model, for
   * training, scoring, prefill and decoding alike. With a KV cache (inference graphs only), sequence b
   * continues cache row rows[b] at that row's cached length, and its T tokens are appended to the row.
   */
  hidden(g: Graph, ids: Int32Array, B: number, T: number, kv?: CacheRows): Tensor;
  /** Next-token logits from hidden states: (…, C) → (…, V). */
  logits(g: Graph, hidden: Tensor): Tensor;
  /** Logits (B, T, V) for token ids (B·T); with a KV cache, as in hidden(). */
  forward(g: Graph, ids: Int32Array, B: number, T: number, kv?: CacheRows): Tensor;
  /**
   * Mean next-token cross-entropy; targets (B·T) with -100 where no loss is wanted; optional per-token weights.
   * Computed through the fused head (model/lm-head.ts headLoss): no (B·T, V) logits.
   */
  loss(g: Graph, ids: Int32Array, targets: Int32Array, B: number, T: number, weights?: ArrayLike<number>): Tensor;
  /** Copies all weights from another model of the same config (e.g. a frozen reference policy). */
  copyFrom(other: CausalLM): void;
  /** A deep copy of this model (same config and weights, fresh gradients). */
  clone(): CausalLM;
}

/** True for a model object (used where an overloaded function takes a model or something else). */
export function isCausalLM(x: unknown): x is CausalLM {
  const m = x as Partial<CausalLM> | null;
  return !!m && typeof m === 'object' && Array.isArray(m.params) && typeof m.hidden === 'function';
}
