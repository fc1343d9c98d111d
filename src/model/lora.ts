// LoRA (Hu et al., 2021) with PEFT's semantics: on each targeted linear layer, lora_A (r, in) drawn
// as torch.nn.Linear's default (Kaiming-uniform, a = √5) and lora_B (out, r) zero, so a new adapter
// changes nothing; the layer's output becomes y + (alpha / r) · dropout(x) · Aᵀ · Bᵀ. The base
// weights are frozen: only the adapters get gradients and optimizer state. Files: model/peft.ts and
// model/adapter-checkpoint.ts.

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

/** The LoRA state of a model: its adapters by module name, and the switches they share. */
export interface LoraState {
  readonly config: LoraConfig;
  /** Targeted modules in the model's order. */
  readonly adapters: Map<string, LoraAdapter>;
  /**
   * [0]: 1 while the adapters are on, 0 off; [1]: the training step, which seeds the dropout masks (so a
   * resumed run draws the masks an uninterrupted one does). Shared memory: worker replicas follow it.
   */
  readonly shared: Int32Array;
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

  /** The dropout masks' generator, and the training step it was seeded for. */
  private rng: RNG | null = null;
  private rngStep = -1;

  /**
   * @param init draws lora_A.
   * @param shared the model's switches (LoraState.shared).
   * @param seed with `index` (the module's place in the model) and the training step, seeds the dropout masks.
   */
  constructor(
    readonly linear: Linear,
    readonly rank: number,
    alpha: number,
    private readonly dropoutP: number,
    init: RNG,
    private readonly shared: Int32Array,
    private readonly seed = 0,
    private readonly index = 0,
  ) {
    const { inFeatures, outFeatures } = linearShape(linear);
    // kaiming_uniform_(a=√5) on (r, in): bound = gain·√(3 / fan_in) with gain = √(2 / (1 + a²)) = 1/√in.
    const bound = 1 / Math.sqrt(inFeatures);
    const a = Float32Array.from({ length: rank * inFeatures }, () => (2 * init.uniform() - 1) * bound);
    this.A = new Parameter(loraParamName(linear.name, 'A'), a, [rank, inFeatures]);
    this.B = new Parameter(loraParamName(linear.name, 'B'), new Float32Array(outFeatures * rank), [outFeatures, rank]);
    this.scaling = alpha / rank;
  }

  /** On or off with every adapter of its model (see setAdaptersEnabled). */
  get enabled(): boolean {
    return this.shared[0] !== 0;
  }

  set enabled(on: boolean) {
    this.shared[0] = on ? 1 : 0;
  }

  forward(g: Graph, x: Tensor, y: Tensor): Tensor {
    return loraUpdate(g, x, y, this.A, this.B, this.scaling, this.dropoutP > 0 ? this.dropout() : null);
  }

  /** The dropout of this forward: a stream of masks per training step, module and seed. */
  private dropout() {
    const step = this.shared[1];
    if (!this.rng || this.rngStep !== step) {
      this.rng = new RNG((Math.imul(this.seed, 1000003) + Math.imul(step, 7919) + this.index) >>> 0);
      this.rngStep = step;
    }
    return { p: this.dropoutP, rng: this.rng };
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
/** The state an adapter parameter belongs to (the training loop knows parameters, not models). */
const paramStates = new WeakMap<Parameter, LoraState>();

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
  /** The switches to share (a worker replica shares its model's, see LoraState); default: new ones, on. */
  shared?: Int32Array;
  /** Seeds the dropout masks instead of the config's seed (a worker replica's own masks). */
  dropoutSeed?: number;
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
  const shared = opts.shared ?? new Int32Array(new SharedArrayBuffer(8));
  if (!opts.shared) shared[0] = 1;
  const rng = new RNG(config.seed ?? 0);
  const dropoutSeed = opts.dropoutSeed ?? config.seed ?? 0;
  const adapters = new Map<string, LoraAdapter>();
  const state: LoraState = { config: { ...config }, adapters, shared };
  targets.forEach((lin, i) => {
    if (lin.adapter) throw new Error(`attachLora: ${lin.name} already has an adapter`);
    const ad = new LoraAdapter(lin, rank, alpha, dropout, rng, shared, dropoutSeed, i);
    lin.adapter = ad;
    adapters.set(lin.name, ad);
    paramStates.set(ad.A, state);
    paramStates.set(ad.B, state);
  });
  for (const p of model.params) p.freeze();
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
  if (s) s.shared[0] = on ? 1 : 0;
}

/** Tells the adapters among `params` the training step to come: it seeds their dropout masks. */
export function setLoraStep(params: Parameter[], step: number): void {
  for (const p of params) {
    const s = paramStates.get(p);
    if (s) s.shared[1] = step;
  }
}

/** Runs fn on the base model (adapters off), then restores the switch. Without LoRA, just runs fn. */
export function withAdaptersDisabled<R>(model: CausalLM, fn: () => R): R {
  const s = states.get(model);
  if (!s) return fn();
  const before = s.shared[0];
  s.shared[0] = 0;
  try {
    return fn();
  } finally {
    s.shared[0] = before;
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

/**
 * A parameter's values as the model computes with them: with an adapter on, a linear layer's weight
 * plus the adapter's ΔW (a new array); otherwise its own data.
 */
export function effectiveData(model: CausalLM, p: Parameter): Float32Array {
  const s = states.get(model);
  const ad = s?.shared[0] ? [...s.adapters.values()].find((a) => a.linear.weight === p) : undefined;
  if (!ad) return p.data;
  const d = ad.deltaWeight();
  for (let i = 0; i < d.length; i++) d[i] += p.data[i];
  return d;
}

/** Freezes every parameter of a model that is never trained (a reference policy): no gradient buffers. */
export function freezeModel(model: CausalLM): void {
  for (const p of model.params) p.freeze();
}
