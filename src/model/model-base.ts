// What every model family shares (model/gpt2.ts, model/llama.ts): the parameter list built in Hugging
// Face's state-dict order, lookups by name, the output layer, the loss through the fused head, copying.
// A family supplies its layers (hidden) and an uninitialized model of its own config (emptyCopy).

import type { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { Parameter, type Tensor } from '../engine/tensor.js';
import type { CausalLM } from './causal-lm.js';
import { type ModelConfig, familyOf } from './config.js';
import type { CacheRows } from './kv-cache.js';
import { headLoss } from './lm-head.js';
import type { Linear } from './linear.js';

export abstract class ModelBase implements CausalLM {
  readonly params: Parameter[] = [];
  readonly linears: Linear[] = [];
  abstract readonly lmHead: Parameter;
  /** See CausalLM.gradientCheckpointing. */
  gradientCheckpointing = false;
  /** False for an uninitialized model (seed null): add() leaves the weights zero for a loader to fill. */
  protected initialize = true;

  constructor(readonly config: ModelConfig) {}

  abstract hidden(g: Graph, ids: Int32Array, B: number, T: number, kv?: CacheRows): Tensor;

  /** An uninitialized model of this config (clone() fills it). */
  protected abstract emptyCopy(): ModelBase;

  /** A new parameter, appended to params; init fills it unless the model is uninitialized. */
  protected add(name: string, shape: number[], init: (d: Float32Array) => void): Parameter {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (this.initialize) init(data);
    const p = new Parameter(name, data, shape);
    this.params.push(p);
    return p;
  }

  /** The parameter with a given Hugging Face name. */
  param(name: string): Parameter {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new Error(`${familyOf(this.config)} model has no parameter "${name}"`);
    return p;
  }

  /** Next-token logits from hidden states: (…, C) → (…, V), through the output matrix (lmHead). */
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
    if (other.params.length !== this.params.length)
      throw new Error(`copyFrom: ${other.params.length} parameters into a model of ${this.params.length}`);
    other.params.forEach((p, i) => {
      this.params[i].data.set(p.data);
      this.params[i].version++;
    });
  }

  /** A deep copy of this model (same config and weights, fresh gradients, the same checkpointing). */
  clone(): CausalLM {
    const m = this.emptyCopy();
    m.copyFrom(this);
    m.gradientCheckpointing = this.gradientCheckpointing;
    return m;
  }
}
