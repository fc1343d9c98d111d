// The GPT-2 architecture: learned positions, pre-LayerNorm blocks, GELU MLP, tied output embedding.
// Parameter names are Hugging Face's GPT-2 names, so a checkpoint is just the parameter map.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { RNG } from '../engine/rng.js';
import { Parameter, Tensor } from '../engine/tensor.js';
import type { CausalLM } from './causal-lm.js';
import { ModelConfig, validateConfig } from './config.js';
import { type CacheRows, cachePositions } from './kv-cache.js';
import { headLoss } from './lm-head.js';
import { type Linear, linearModule, project } from './linear.js';

export interface Block {
  ln1w: Parameter;
  ln1b: Parameter;
  attn: Linear; // attn.c_attn (C, 3C)
  proj: Linear; // attn.c_proj (C, C)
  ln2w: Parameter;
  ln2b: Parameter;
  fc: Linear; // mlp.c_fc (C, 4C)
  fc2: Linear; // mlp.c_proj (4C, C)
}

export class GPT2 implements CausalLM {
  readonly params: Parameter[] = [];
  readonly wte: Parameter;
  /** The output matrix: the tied token embedding wte (V, C). */
  readonly lmHead: Parameter;
  readonly wpe: Parameter;
  readonly blocks: Block[] = [];
  readonly linears: Linear[] = [];
  readonly lnfW: Parameter;
  readonly lnfB: Parameter;
  /** See CausalLM.gradientCheckpointing. */
  gradientCheckpointing = false;

  /** A freshly initialized model (GPT-2 init: N(0, 0.02), residual projections scaled by 1/√(2·nLayer)). */
  constructor(
    readonly config: ModelConfig,
    seed: number | null = 0,
  ) {
    validateConfig(config);
    const { vocabSize: V, nPositions: P, nEmbd: C, nLayer: L } = config;
    // NOTE: seed null leaves the weights zero (untouched pages cost no memory): a loader overwrites them.
    const rng = new RNG(seed ?? 0);
    this.initialize = seed !== null;
    const normal = (name: string, shape: number[], std: number) => this.add(name, shape, (d) => rng.fillNormal(d, std));
    const fill = (name: string, shape: number[], v: number) => this.add(name, shape, (d) => d.fill(v));
    const projStd = 0.02 / Math.sqrt(2 * L);
    // GPT-2's Conv1D: weight (in, out), bias added after it (in parameter order weight, bias).
    const conv1d = (name: string, weight: Parameter, biasShape: number[]) => {
      const lin = linearModule(name, weight, fill(name + '.bias', biasShape, 0), false);
      this.linears.push(lin);
      return lin;
    };
    this.wte = normal('transformer.wte.weight', [V, C], 0.02);
    this.lmHead = this.wte;
    this.wpe = normal('transformer.wpe.weight', [P, C], 0.01);
    for (let i = 0; i < L; i++) {
      const p = `transformer.h.${i}.`;
      this.blocks.push({
        ln1w: fill(p + 'ln_1.weight', [C], 1),
        ln1b: fill(p + 'ln_1.bias', [C], 0),
        attn: conv1d(p + 'attn.c_attn', normal(p + 'attn.c_attn.weight', [C, 3 * C], 0.02), [3 * C]),
        proj: conv1d(p + 'attn.c_proj', normal(p + 'attn.c_proj.weight', [C, C], projStd), [C]),
        ln2w: fill(p + 'ln_2.weight', [C], 1),
        ln2b: fill(p + 'ln_2.bias', [C], 0),
        fc: conv1d(p + 'mlp.c_fc', normal(p + 'mlp.c_fc.weight', [C, 4 * C], 0.02), [4 * C]),
        fc2: conv1d(p + 'mlp.c_proj', normal(p + 'mlp.c_proj.weight', [4 * C, C], projStd), [C]),
      });
    }
    this.lnfW = fill('transformer.ln_f.weight', [C], 1);
    this.lnfB = fill('transformer.ln_f.bias', [C], 0);
  }

  private initialize = true;

  private add(name: string, shape: number[], init: (d: Float32Array) => void): Parameter {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (this.initialize) init(data);
    const p = new Parameter(name, data, shape);
    this.params.push(p);
    return p;
  }

  /** The parameter with a given Hugging Face name. */
  param(name: string): Parameter {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new Error(`GPT-2 model has no parameter "${name}"`);
    return p;
  }

  /**
   * Final hidden states after ln_f: ids (B·T) → (B, T, C). The one forward of the model, for training,
   * scoring, prefill and decoding alike.
   * With a KV cache (inference graphs only), sequence b continues cache row rows[b]: its T tokens sit at
   * positions len … len+T-1 (len = that row's cached length, each row its own), attend over the row's
   * cached prefix, and are appended to it. Decoding is T = 1 for each active row.
   */
  hidden(g: Graph, ids: Int32Array, B: number, T: number, kv?: CacheRows): Tensor {
    const eps = this.config.layerNormEps;
    const at = kv ? cachePositions(kv, B) : null;
    let x = ops.embed(g, ids, B, T, this.wte, this.wpe, at ? at.starts : 0);
    this.blocks.forEach((blk, l) => {
      // NOTE: without gradients each block's buffers are freed once it is done (ops.scoped).
      if (!g.recording) x = ops.scoped(g, [x], (sg, [xi]) => this.block(sg, xi, blk, l, B, T, at));
      else if (this.gradientCheckpointing && !at)
        x = ops.checkpoint(g, [x], (cg, [xi]) => this.block(cg, xi, blk, l, B, T, null));
      else x = this.block(g, x, blk, l, B, T, at);
    });
    if (at) for (let b = 0; b < B; b++) at.cache.len[at.rows[b]] += T;
    return ops.layerNorm(g, x, this.lnfW, this.lnfB, eps);
  }

  /** Transformer block l: x (B, T, C) → (B, T, C), attending over its KV cache rows when given. */
  private block(
    g: Graph,
    x: Tensor,
    blk: Block,
    l: number,
    B: number,
    T: number,
    at: ReturnType<typeof cachePositions> | null,
  ): Tensor {
    const { nHead, layerNormEps: eps } = this.config;
    const h = ops.layerNorm(g, x, blk.ln1w, blk.ln1b, eps);
    const qkv = project(g, h, blk.attn);
    const a = at
      ? ops.cachedSelfAttention(g, qkv, B, T, nHead, at.cache.layer(l), at.rows, at.starts)
      : ops.causalSelfAttention(g, qkv, B, T, nHead);
    x = ops.add(g, x, project(g, a, blk.proj));
    const h2 = ops.layerNorm(g, x, blk.ln2w, blk.ln2b, eps);
    const m = project(g, ops.gelu(g, project(g, h2, blk.fc)), blk.fc2);
    return ops.add(g, x, m);
  }

  /** Next-token logits from hidden states: (…, C) → (…, V), through the tied embedding. */
  logits(g: Graph, hidden: Tensor): Tensor {
    return ops.linear(g, hidden, this.lmHead, null, true);
  }

  /** Logits (B, T, V) for token ids (B·T); with a KV cache, as in hidden(). */
  forward(g: Graph, ids: Int32Array, B: number, T: number, kv?: CacheRows): Tensor {
    return this.logits(g, this.hidden(g, ids, B, T, kv));
  }

  /** Mean next-token cross-entropy; targets (B·T) with -100 where no loss is wanted; optional per-token weights. */
  loss(g: Graph, ids: Int32Array, targets: Int32Array, B: number, T: number, weights?: ArrayLike<number>): Tensor {
    return headLoss(g, this, this.hidden(g, ids, B, T), targets, weights);
  }

  /** Copies all weights from another model of the same config (e.g. a frozen reference policy). */
  copyFrom(other: CausalLM): void {
    other.params.forEach((p, i) => this.params[i].data.set(p.data));
  }

  /** A deep copy of this model (same config and weights, fresh gradients). */
  clone(): GPT2 {
    const m = new GPT2(this.config, null);
    m.copyFrom(this);
    m.gradientCheckpointing = this.gradientCheckpointing;
    return m;
  }
}
