// The Llama family: Llama 2/3 (SmolLM, TinyLlama), Qwen2/2.5 and Qwen3. Pre-RMSNorm blocks, rotary
// positions (rotate-half layout), grouped-query attention, SwiGLU MLP, tied or separate lm_head.
// The families differ only in biases (qwen2: q, k, v) and Qwen3's per-head RMSNorm of q and k.
// Parameter names and layouts are Hugging Face's (nn.Linear weights (out, in)), so a checkpoint is the
// parameter map.

import type { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { RNG } from '../engine/rng.js';
import { Parameter, type Tensor } from '../engine/tensor.js';
import {
  type ModelConfig,
  attentionBiasesOf,
  familyOf,
  headDimOf,
  intermediateSizeOf,
  isLlamaFamily,
  kvHeadsOf,
  validateConfig,
} from './config.js';
import { type CacheRows, cachePositions } from './kv-cache.js';
import { ModelBase } from './model-base.js';
import { type Linear, linearModule, project } from './linear.js';
import { Rope } from './rope.js';

/** Where a batch's tokens sit: the rotary tables up to its last position, and its KV cache rows if any. */
interface Positions {
  B: number;
  T: number;
  cos: Float32Array;
  sin: Float32Array;
  starts: number | Int32Array;
  at: ReturnType<typeof cachePositions> | null;
}

export interface LlamaBlock {
  inputNorm: Parameter; // input_layernorm (C)
  q: Linear; // self_attn.q_proj (nh·hs, C)
  k: Linear; // self_attn.k_proj (nkv·hs, C)
  v: Linear; // self_attn.v_proj (nkv·hs, C)
  qNorm: Parameter | null; // self_attn.q_norm (hs), Qwen3 only
  kNorm: Parameter | null; // self_attn.k_norm (hs), Qwen3 only
  o: Linear; // self_attn.o_proj (C, nh·hs)
  postNorm: Parameter; // post_attention_layernorm (C)
  gate: Linear; // mlp.gate_proj (I, C)
  up: Linear; // mlp.up_proj (I, C)
  down: Linear; // mlp.down_proj (C, I)
}

export class Llama extends ModelBase {
  readonly embed: Parameter;
  readonly blocks: LlamaBlock[] = [];
  readonly norm: Parameter;
  /** The output projection (V, C): its own lm_head.weight, or the token embedding when tied. */
  readonly lmHead: Parameter;
  private readonly rope: Rope;

  /** A freshly initialized model (Hugging Face's init: N(0, 0.02) weights, zero biases, unit norms). */
  constructor(config: ModelConfig, seed: number | null = 0) {
    validateConfig(config);
    super(config);
    if (!isLlamaFamily(config)) throw new Error(`Llama: family "${familyOf(config)}" is not a Llama-family model`);
    const { vocabSize: V, nEmbd: C, nLayer: L } = config;
    const hs = headDimOf(config),
      Q = config.nHead * hs,
      KV = kvHeadsOf(config) * hs,
      I = intermediateSizeOf(config);
    const bias = attentionBiasesOf(config),
      mlpBias = config.mlpBias ?? false;
    // NOTE: seed null leaves the weights zero (untouched pages cost no memory): a loader overwrites them.
    const rng = new RNG(seed ?? 0);
    this.initialize = seed !== null;
    const normal = (name: string, shape: number[]) => this.add(name, shape, (d) => rng.fillNormal(d, 0.02));
    const ones = (name: string, n: number) => this.add(name, [n], (d) => d.fill(1));
    // nn.Linear(inFeatures, outFeatures): weight (out, in), then the bias when it has one.
    const linear = (name: string, inF: number, outF: number, withBias: boolean) => {
      const w = normal(`${name}.weight`, [outF, inF]);
      const lin = linearModule(name, w, withBias ? this.add(`${name}.bias`, [outF], () => {}) : null, true);
      this.linears.push(lin);
      return lin;
    };
    this.embed = normal('model.embed_tokens.weight', [V, C]);
    const qkNorm = familyOf(config) === 'qwen3';
    for (let i = 0; i < L; i++) {
      const p = `model.layers.${i}.`;
      // Created in the order of Hugging Face's state dict.
      const q = linear(p + 'self_attn.q_proj', C, Q, bias.qkv);
      const k = linear(p + 'self_attn.k_proj', C, KV, bias.qkv);
      const v = linear(p + 'self_attn.v_proj', C, KV, bias.qkv);
      const o = linear(p + 'self_attn.o_proj', Q, C, bias.o);
      const qNorm = qkNorm ? ones(p + 'self_attn.q_norm.weight', hs) : null;
      const kNorm = qkNorm ? ones(p + 'self_attn.k_norm.weight', hs) : null;
      const gate = linear(p + 'mlp.gate_proj', C, I, mlpBias);
      const up = linear(p + 'mlp.up_proj', C, I, mlpBias);
      const down = linear(p + 'mlp.down_proj', I, C, mlpBias);
      const inputNorm = ones(p + 'input_layernorm.weight', C);
      const postNorm = ones(p + 'post_attention_layernorm.weight', C);
      this.blocks.push({ inputNorm, q, k, v, qNorm, kNorm, o, postNorm, gate, up, down });
    }
    this.norm = ones('model.norm.weight', C);
    this.lmHead = config.tieWordEmbeddings ? this.embed : normal('lm_head.weight', [V, C]);
    this.rope = new Rope(config);
  }

  /**
   * Final hidden states after model.norm: ids (B·T) → (B, T, C). The one forward of the model, for training,
   * scoring, prefill and decoding alike. With a KV cache (inference graphs only), sequence b continues cache
   * row rows[b]: its T tokens sit at positions len … len+T-1 (len = that row's cached length), attend over the
   * row's cached prefix, and are appended to it.
   */
  hidden(g: Graph, ids: Int32Array, B: number, T: number, kv?: CacheRows): Tensor {
    const { nEmbd: C, layerNormEps: eps } = this.config;
    const at = kv ? cachePositions(kv, B) : null;
    const starts = at ? at.starts : 0;
    const { cos, sin } = this.rope.upTo(this.lastPosition(ids, B, T, starts));
    const pos: Positions = { B, T, cos, sin, starts, at };
    let x = ops.reshape(g, ops.selectRows(g, this.embed, ids), [B, T, C]);
    this.blocks.forEach((blk, l) => {
      // NOTE: without gradients each block's buffers are freed once it is done (ops.scoped).
      if (!g.recording) x = ops.scoped(g, [x], (sg, [xi]) => this.block(sg, xi, blk, l, pos));
      else if (this.gradientCheckpointing && !at)
        x = ops.checkpoint(g, [x], (cg, [xi]) => this.block(cg, xi, blk, l, pos));
      else x = this.block(g, x, blk, l, pos);
    });
    if (at) for (let b = 0; b < B; b++) at.cache.len[at.rows[b]] += T;
    return ops.rmsNorm(g, x, this.norm, eps);
  }

  /** Decoder layer l: x (B, T, C) → (B, T, C), attending over its KV cache rows when given. */
  private block(g: Graph, x: Tensor, blk: LlamaBlock, l: number, p: Positions): Tensor {
    const c = this.config;
    const { nHead, layerNormEps: eps } = c;
    const nKvHead = kvHeadsOf(c),
      headDim = headDimOf(c);
    const { B, T, cos, sin, starts, at } = p;
    const h = ops.rmsNorm(g, x, blk.inputNorm, eps);
    let q = project(g, h, blk.q),
      k = project(g, h, blk.k);
    const v = project(g, h, blk.v);
    if (blk.qNorm && blk.kNorm) {
      q = perHeadRMSNorm(g, q, blk.qNorm, eps);
      k = perHeadRMSNorm(g, k, blk.kNorm, eps);
    }
    // (B, T, (nh + 2·nkv)·hs): [q | k | v] per token, q and k rotated to their positions
    const qkv = ops.ropeQKV(g, q, k, v, B, T, { nHead, nKvHead, headDim, cos, sin, starts });
    const a = at
      ? ops.cachedSelfAttention(g, qkv, B, T, nHead, at.cache.layer(l), at.rows, at.starts, { nKvHead, headDim })
      : ops.causalSelfAttention(g, qkv, B, T, nHead, { nKvHead, headDim });
    x = ops.add(g, x, project(g, a, blk.o));
    const h2 = ops.rmsNorm(g, x, blk.postNorm, eps);
    const m = project(g, ops.swiglu(g, project(g, h2, blk.gate), project(g, h2, blk.up)), blk.down);
    return ops.add(g, x, m);
  }

  /**
   * One past the last position the batch reaches, after checking the ids and that it fits the context
   * (max_position_embeddings: the KV cache and the RoPE tables are sized by it).
   */
  private lastPosition(ids: Int32Array, B: number, T: number, starts: number | Int32Array): number {
    const V = this.config.vocabSize;
    if (ids.length !== B * T) throw new Error(`hidden: ${ids.length} token ids for B=${B}, T=${T}`);
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] < V))
        throw new Error(
          `hidden: token id ${ids[i]} at (${Math.floor(i / T)}, ${i % T}) is outside the vocabulary [0, ${V})`,
        );
    }
    const end = typeof starts === 'number' ? starts + T : Math.max(T, ...Array.from(starts, (s) => s + T));
    if (end > this.config.nPositions)
      throw new Error(
        `hidden: positions up to ${end} but the model's context (max_position_embeddings) is ` +
          `${this.config.nPositions} tokens; shorten the input`,
      );
    return end;
  }

  protected emptyCopy(): Llama {
    return new Llama(this.config, null);
  }
}

/** Qwen3's q_norm / k_norm: RMSNorm over each head's hs values. x (B, T, n·hs) → same shape. */
function perHeadRMSNorm(g: Graph, x: Tensor, w: Parameter, eps: number): Tensor {
  const hs = w.size;
  const y = ops.rmsNorm(g, ops.reshape(g, x, [x.size / hs, hs]), w, eps);
  return ops.reshape(g, y, [...x.shape]);
}
