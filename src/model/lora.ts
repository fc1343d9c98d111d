// LoRA (Hu et al., 2021) with PEFT's semantics: on each targeted linear layer, lora_A (r, in) drawn
// as torch.nn.Linear's default (Kaiming-uniform, a = √5) and lora_B (out, r) zero, so a new adapter
// changes nothing; the layer's output becomes y + (alpha / r) · dropout(x) · Aᵀ · Bᵀ. The base
// weights are frozen: only the adapters get gradients and optimizer state. Files: model/peft.ts.

import { Graph } from '../engine/graph.js';
import { loraUpdate } from '../engine/ops/lora.js';
import { RNG } from '../engine/rng.js';
import { Parameter, Tensor } from '../engine/tensor.js';
import type { CausalLM } from './causal-lm.js';
import { type ModelFamily, familyOf } from './config.js';
import { type Linear, type LinearAdapter, linearShape } from './linear.js';

/** PEFT's name for every module: matches `target_modules` = "all-linear" (the LM head excluded). */
export const ALL_LINEAR = 'all-linear';

/** PEFT's default target modules per architecture (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
export const DEFAULT_LORA_TARGETS: Record<ModelFamily, string[]> = {
  gpt2: ['c_attn'],
  llama: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  qwen3: ['q_proj', 'v_proj'],
};

export interface LoraConfig {
  /** r: the rank of each update. */
  rank: number;
  /** lora_alpha: updates are scaled by alpha / rank. */
  alpha: number;
  /** lora_dropout: probability of dropping an input feature of the adapter, while training. */
  dropout: number;
  /**
   * Module names as PEFT matches a target_modules list: a name equal to the target or ending in
   * "." + target ("c_attn", "mlp.c_proj", "q_proj"); or "all-linear"; or, as a string that is not
   * "all-linear", a regular expression the whole name must match. Empty: the family's default.
   */
  targets: string[] | string;
  /** Seed of lora_A's initialization and of the dropout masks. */
  seed?: number;
}

/** The LoRA state of a model: its adapters by module name, and the switch they share. */
export interface LoraState {
  readonly config: LoraConfig;
  /** Targeted modules in the model's order. */
  readonly adapters: Map<string, LoraAdapter>;
  /** [1] while the adapters are on, [0] off. Shared memory, so worker replicas switch with the model. */
  readonly flag: Int32Array;
}

/** lora_A's and lora_B's names in a PEFT adapter file: `base_model.model.<module>.lora_A.weight`. */
export function loraParamName(module: string, which: 'A' | 'B'): string {
  return `base_model.model.${module}.lora_${which}.weight`;
}

export class LoraAdapter implements LinearAdapter {
  /** (r, in) */
  readonly A: Parameter;
  /** (out, r) */
  readonly B: Parameter;
  readonly scaling: number;

  constructor(
    readonly linear: Linear,
    readonly rank: number,
    alpha: number,
    private readonly dropoutP: number,
    private readonly rng: RNG,
    private readonly flag: Int32Array,
  ) {
    const { inFeatures, outFeatures } = linearShape(linear);
    // kaiming_uniform_(a=√5) on (r, in): bound = gain·√(3 / fan_in) with gain = √(2 / (1 + a²)) = 1/√in.
    const bound = 1 / Math.sqrt(inFeatures);
    const a = Float32Array.from({ length: rank * inFeatures }, () => (2 * rng.uniform() - 1) * bound);
    this.A = new Parameter(loraParamName(linear.name, 'A'), a, [rank, inFeatures]);
    this.B = new Parameter(loraParamName(linear.name, 'B'), new Float32Array(outFeatures * rank), [outFeatures, rank]);
    this.scaling = alpha / rank;
  }

  /** On or off with every adapter of its model (see setAdaptersEnabled). */
  get enabled(): boolean {
    return this.flag[0] !== 0;
  }

  set enabled(on: boolean) {
    this.flag[0] = on ? 1 : 0;
  }

  forward(g: Graph, x: Tensor, y: Tensor): Tensor {
    const dropout = this.dropoutP > 0 ? { p: this.dropoutP, rng: this.rng } : null;
    return loraUpdate(g, x, y, this.A, this.B, this.scaling, dropout);
  }

  /** ΔW = scaling · B · A in the base weight's layout: (out, in), or (in, out) for a Conv1D. */
  deltaWeight(): Float32Array {
    const { inFeatures: cin, outFeatures: cout } = linearShape(this.linear);
    const r = this.rank,
      a = this.A.data,
      b = this.B.data;
    const d = new Float32Array(cin * cout);
    for (let o = 0; o < cout; o++) {
      for (let k = 0; k < r; k++) {
        const bk = this.scaling * b[o * r + k];
        if (bk === 0) continue;
        for (let i = 0; i < cin; i++) {
          // NOTE: fan_in_fan_out (GPT-2's Conv1D stores (in, out)) transposes ΔW, as PEFT's merge does.
          d[this.linear.outIn ? o * cin + i : i * cout + o] += bk * a[k * cin + i];
        }
      }
    }
    return d;
  }
}

const states = new WeakMap<CausalLM, LoraState>();

/** The model's LoRA state, or null when no adapters are attached. */
export function loraOf(model: CausalLM): LoraState | null {
  return states.get(model) ?? null;
}

/** The modules a target list selects, in the model's order; refuses a target that selects nothing. */
export function resolveTargets(model: CausalLM, targets: string[] | string): Linear[] {
  const lins = model.linears;
  const available = () => {
    const leaves = [...new Set(lins.map((l) => l.name.split('.').pop()!))];
    return `modules here: ${leaves.join(', ')} (e.g. ${lins[0]?.name ?? 'none'}), or ${ALL_LINEAR}`;
  };
  if (typeof targets === 'string') {
    if (targets === ALL_LINEAR) return [...lins];
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${targets})$`);
    } catch (e) {
      throw new Error(`LoRA targets: ${JSON.stringify(targets)} is not a regular expression (${(e as Error).message})`);
    }
    const hit = lins.filter((l) => re.test(l.name));
    if (!hit.length)
      throw new Error(`LoRA targets: the pattern ${JSON.stringify(targets)} matches no module; ${available()}`);
    return hit;
  }
  if (targets.length === 0) targets = DEFAULT_LORA_TARGETS[familyOf(model.config)];
  if (targets.includes(ALL_LINEAR)) {
    if (targets.length > 1) throw new Error(`LoRA targets: ${ALL_LINEAR} stands alone, got ${targets.join(',')}`);
    return [...lins];
  }
  const matches = (name: string, t: string) => name === t || name.endsWith('.' + t);
  for (const t of targets) {
    if (!lins.some((l) => matches(l.name, t)))
      throw new Error(`LoRA targets: "${t}" matches no module of this ${familyOf(model.config)} model; ${available()}`);
  }
  return lins.filter((l) => targets.some((t) => matches(l.name, t)));
}

export interface AttachOptions {
  /** The on/off switch to share (a worker replica shares its model's); default: a new one, on. */
  flag?: Int32Array;
}

/**
 * Attaches new adapters to the targeted linear layers and freezes every base parameter (no gradient,
 * no gradient buffer). Returns the model's LoRA state.
 */
export function attachLora(model: CausalLM, config: LoraConfig, opts: AttachOptions = {}): LoraState {
  if (states.has(model)) throw new Error('attachLora: the model already has LoRA adapters; merge them first');
  const { rank, alpha, dropout } = config;
  if (!(Number.isInteger(rank) && rank > 0)) throw new Error(`LoRA rank must be a positive integer, got ${rank}`);
  if (!(alpha > 0)) throw new Error(`LoRA alpha must be > 0, got ${alpha}`);
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${dropout}`);
  const targets = resolveTargets(model, config.targets);
  const flag = opts.flag ?? new Int32Array(new SharedArrayBuffer(4));
  if (!opts.flag) flag[0] = 1;
  const rng = new RNG(config.seed ?? 0);
  const adapters = new Map<string, LoraAdapter>();
  for (const lin of targets) {
    if (lin.adapter) throw new Error(`attachLora: ${lin.name} already has an adapter`);
    const ad = new LoraAdapter(lin, rank, alpha, dropout, rng, flag);
    lin.adapter = ad;
    adapters.set(lin.name, ad);
  }
  for (const p of model.params) p.freeze();
  const state: LoraState = { config: { ...config }, adapters, flag };
  states.set(model, state);
  return state;
}

/** The adapters' parameters (lora_A, lora_B per module, in the model's order); none without LoRA. */
export function loraParams(model: CausalLM): Parameter[] {
  const s = states.get(model);
  return s ? [...s.adapters.values()].flatMap((a) => [a.A, a.B]) : [];
}

/** What an optimizer trains: the adapters with LoRA, else every parameter. */
export function trainableParams(model: CausalLM): Parameter[] {
  return states.has(model) ? loraParams(model) : model.params;
}

/** Turns every adapter of the model on or off (off: the base model, e.g. DPO's and PPO's reference). */
export function setAdaptersEnabled(model: CausalLM, on: boolean): void {
  const s = states.get(model);
  if (s) s.flag[0] = on ? 1 : 0;
}

/** Runs fn on the base model (adapters off), then restores the switch. Without LoRA, just runs fn. */
export function withAdaptersDisabled<R>(model: CausalLM, fn: () => R): R {
  const s = states.get(model);
  if (!s) return fn();
  const before = s.flag[0];
  s.flag[0] = 0;
  try {
    return fn();
  } finally {
    s.flag[0] = before;
  }
}

/**
 * Folds each adapter into its base weight (W += ΔW), removes the adapters and makes the base
 * parameters trainable again: the model computes what it did with the adapters on.
 */
export function mergeLora(model: CausalLM): void {
  const s = states.get(model);
  if (!s) return;
  for (const ad of s.adapters.values()) {
    const w = ad.linear.weight.data,
      d = ad.deltaWeight();
    for (let i = 0; i < w.length; i++) w[i] += d[i];
    ad.linear.adapter = null;
  }
  for (const p of model.params) p.requiresGrad = true;
  states.delete(model);
}

/** Freezes every parameter of a model that is never trained (a reference policy): no gradient buffers. */
export function freezeModel(model: CausalLM): void {
  for (const p of model.params) p.freeze();
}
