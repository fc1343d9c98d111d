// The reference numbers of tests/fixtures/llama-ops.json: the Llama family's ops (RMSNorm, SiLU/SwiGLU,
// rotate-half RoPE, grouped-query causal attention) computed in PyTorch with Hugging Face's formulas, on
// fixed random inputs drawn in float32. Regenerate with `/usr/bin/python3 tests/fixtures/make_llama_ops.py`.
// Tensors are flattened row-major; gradients are of Σ out ⊙ dy.

import { readFileSync } from 'node:fs';

export interface RMSNormFixture {
  N: number;
  C: number;
  eps: number;
  x: number[];
  w: number[];
  dy: number[];
  y: number[];
  grad_x: number[];
  grad_w: number[];
}

export interface SwiGLUFixture {
  n: number;
  gate: number[];
  up: number[];
  dy: number[];
  silu: number[];
  y: number[];
  grad_gate: number[];
  grad_up: number[];
}

/** Hugging Face's float32 tables at a few rows (each row: the first headDim/2 columns). */
export interface RopeTablesFixture {
  head_dim: number;
  theta: number;
  max_positions: number;
  inv_freq: number[];
  rows: number[];
  cos: number[];
  sin: number[];
}

/** q (B, T, nHead·hd), k and v (B, T, nKvHead·hd) → RoPE at positions starts[b]+t → causal GQA → out. */
export interface GQAttentionFixture {
  B: number;
  T: number;
  n_head: number;
  n_kv_head: number;
  head_dim: number;
  theta: number;
  max_positions: number;
  starts: number[];
  /** (max_positions, hd/2) float32 tables. */
  cos: number[];
  sin: number[];
  q: number[];
  k: number[];
  v: number[];
  dy: number[];
  /** (B, T, nHead·hd) and (B, T, nKvHead·hd). */
  q_rot: number[];
  k_rot: number[];
  out: number[];
  grad_q: number[];
  grad_k: number[];
  grad_v: number[];
}

export interface LlamaOpsFixture {
  generator: string;
  torch: string;
  rmsnorm: RMSNormFixture;
  swiglu: SwiGLUFixture;
  rope_tables: RopeTablesFixture;
  attention: GQAttentionFixture;
}

let cached: LlamaOpsFixture | undefined;

/** The fixture, read once; found from this module (dist/test-support/), wherever the tests run from. */
export function llamaOpsFixture(): LlamaOpsFixture {
  cached ??= JSON.parse(readFileSync(new URL('../../tests/fixtures/llama-ops.json', import.meta.url), 'utf8'));
  return cached!;
}
