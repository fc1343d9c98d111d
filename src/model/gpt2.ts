// The GPT-2 architecture: learned positions, pre-LayerNorm blocks, GELU MLP, tied output embedding.
// Parameter names are Hugging Face's GPT-2 names, so a checkpoint is just the parameter map.

import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { RNG } from '../engine/rng.js';
import { Parameter, Tensor } from '../engine/tensor.js';
import { ModelConfig, validateConfig } from './config.js';
import { type CacheRows, cachePositions } from './kv-cache.js';
import { ModelBase } from './model-base.js';
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

export class GPT2 extends ModelBase {
  readonly wte: Parameter;
  /** The output matrix: the tied token embedding wte (V, C). */
  readonly lmHead: Parameter;
  readonly wpe: Parameter;
  readonly blocks: Block[] = [];
  readonly lnfW: Parameter;
  readonly lnfB: Parameter;

  /** A freshly initialized model (GPT-2 init: N(0, 0.02), residual projections scaled by 1/√(2·nLayer)). */
  constructor(config: ModelConfig, seed: number | null = 0) {
    validateConfig(config);
    super(config);
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

  protected emptyCopy(): GPT2 {
    return new GPT2(this.config, null);
  }
}
