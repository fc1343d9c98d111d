// PEFT's adapter layout, so `PeftModel.from_pretrained(base, dir)` loads what we train and we load
// what PEFT trains: adapter_config.json (a LoraConfig, keys sorted as PEFT writes them) and
// adapter_model.safetensors with PEFT's names, `base_model.model.<module>.lora_A.weight` (the adapter
// name "default" left out, as PEFT saves it) and, for a reward model (task SEQ_CLS), the fully trained
// head as `base_model.model.score.weight` (modules_to_save). This file is the format and reads a
// directory; adapter-checkpoint.ts writes one and puts it on its base, which checkpoint.ts loads.

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Parameter } from '../engine/tensor.js';
import type { CausalLM } from './causal-lm.js';
import type { ScalarHead } from './heads.js';
import { ALL_LINEAR, type LoraConfig, type LoraState, loraOf } from './lora.js';
import { readSafetensorsF32 } from './safetensors.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** PPO's value head beside a policy adapter (PEFT has no place for it). */
export const VALUE_HEAD_FILE = 'value_head.safetensors';
/** Our own notes on an adapter (what trained it, a reward model's bias): PEFT warns on unknown config keys. */
export const ADAPTER_META_FILE = 'rlhf.json';

/** PEFT's task types we write: a policy, or a reward model (a sequence classifier with one label). */
export type PeftTaskType = 'CAUSAL_LM' | 'SEQ_CLS';

export interface AdapterConfig {
  lora: LoraConfig;
  /** base_model_name_or_path: the directory of the model the adapter applies to. */
  baseModel: string;
  taskType: PeftTaskType | null;
  modulesToSave: string[];
  fanInFanOut: boolean;
}

type Tensors = Record<string, { shape: number[]; data: Float32Array }>;
export type TensorMap = Map<string, { shape: number[]; data: Float32Array }>;

/** The adapter's `target_modules` as PEFT would write them for the modules it adapted. */
function targetModules(state: LoraState): string[] | string {
  const t = state.config.targets;
  if (typeof t === 'string' && t !== ALL_LINEAR) return t;
  if (t === ALL_LINEAR || (Array.isArray(t) && (t.length === 0 || t.includes(ALL_LINEAR)))) {
    // The modules adapted, by their last name part (enough: every linear layer is adapted).
    return [...new Set([...state.adapters.keys()].map((n) => n.split('.').pop()!))].sort();
  }
  return [...new Set(t as string[])];
}

/** adapter_config.json of a model's adapters, with PEFT's keys and defaults (sorted, as PEFT writes). */
export function adapterConfigJSON(
  model: CausalLM,
  o: { baseModel: string; taskType: PeftTaskType; modulesToSave?: string[] },
): Record<string, unknown> {
  const state = loraOf(model);
  if (!state) throw new Error('adapterConfigJSON: the model has no LoRA adapters');
  const layouts = new Set([...state.adapters.values()].map((a) => a.linear.outIn));
  if (layouts.size > 1) throw new Error('LoRA: adapted modules mix Linear and Conv1D layouts; PEFT cannot say so');
  const { rank, alpha, dropout } = state.config;
  const cfg: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: o.baseModel,
    bias: 'none',
    // GPT-2's Conv1D stores its weight (in, out): PEFT sets fan_in_fan_out for it.
    fan_in_fan_out: !layouts.has(true),
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: alpha,
    lora_dropout: dropout,
    modules_to_save: o.modulesToSave?.length ? o.modulesToSave : null,
    peft_type: 'LORA',
    r: rank,
    rank_pattern: {},
    revision: null,
    target_modules: targetModules(state),
    task_type: o.taskType,
    use_dora: false,
    use_rslora: false,
  };
  return Object.fromEntries(
    Object.keys(cfg)
      .sort()
      .map((k) => [k, cfg[k]]),
  );
}

/** Reads adapter_config.json; refuses what we cannot apply, naming the field. */
export function parseAdapterConfig(j: Record<string, unknown>, file: string): AdapterConfig {
  const bad = (field: string, want: string) => new Error(`${file}: "${field}" is ${JSON.stringify(j[field])}; ${want}`);
  if (j.peft_type !== 'LORA') throw bad('peft_type', 'only LoRA adapters ("LORA") are supported');
  const num = (field: string, fallback: number) => {
    const v = j[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(field, 'a number is needed');
    return v;
  };
  const rank = num('r', 8);
  if (!(Number.isInteger(rank) && rank > 0)) throw bad('r', 'a positive integer is needed');
  const alpha = num('lora_alpha', 8);
  const dropout = num('lora_dropout', 0);
  const off = (field: string, ok: (v: unknown) => boolean, what: string) => {
    if (j[field] !== undefined && !ok(j[field])) throw bad(field, `${what} is not supported here`);
  };
  const empty = (v: unknown) =>
    v === null || v === false || (typeof v === 'object' && !Object.keys(v as object).length);
  off('use_dora', (v) => v === false, 'DoRA');
  off('use_rslora', (v) => v === false, 'rank-stabilized scaling');
  off('bias', (v) => v === 'none', 'training biases');
  off('lora_bias', (v) => v === false, 'a bias on lora_B');
  off('rank_pattern', empty, 'a rank per module');
  off('alpha_pattern', empty, 'an alpha per module');
  off('layers_to_transform', (v) => v === null, 'adapting some layers only');
  off('exclude_modules', (v) => v === null, 'excluding modules');
  off('layer_replication', (v) => v === null, 'layer replication');
  off('trainable_token_indices', (v) => v === null, 'trainable tokens');
  const tm = j.target_modules;
  let targets: string[] | string;
  if (typeof tm === 'string') targets = tm;
  else if (Array.isArray(tm) && tm.length && tm.every((t) => typeof t === 'string' && t)) targets = tm as string[];
  else throw bad('target_modules', 'a list of module names, a regular expression or "all-linear" is needed');
  const base = j.base_model_name_or_path;
  if (typeof base !== 'string' || !base) throw bad('base_model_name_or_path', 'the base model directory is needed');
  const tt = j.task_type;
  if (tt !== undefined && tt !== null && tt !== 'CAUSAL_LM' && tt !== 'SEQ_CLS')
    throw bad('task_type', 'CAUSAL_LM (a policy) or SEQ_CLS (a reward model) is supported');
  const mts = j.modules_to_save;
  if (mts !== undefined && mts !== null && !(Array.isArray(mts) && mts.every((m) => typeof m === 'string')))
    throw bad('modules_to_save', 'a list of module names is needed');
  return {
    lora: { rank, alpha, dropout, targets },
    baseModel: base,
    taskType: (tt as PeftTaskType | null | undefined) ?? null,
    modulesToSave: (mts as string[] | null | undefined) ?? [],
    fanInFanOut: j.fan_in_fan_out === true,
  };
}

/** What PEFT puts before a module name: PeftModel.base_model (the LoRA model) .model (the transformers model). */
const PEFT_PREFIX = 'base_model.model.';

/** A head's tensor name in a PEFT file (modules_to_save): `base_model.model.score.weight`. */
export const headTensorName = (p: Parameter) => PEFT_PREFIX + p.name;

/** adapter_model.safetensors' tensors: every lora_A and lora_B, and the heads saved with them. */
export function adapterTensors(model: CausalLM, heads: ScalarHead[] = []): Tensors {
  const state = loraOf(model);
  if (!state) throw new Error('adapterTensors: the model has no LoRA adapters');
  const out: Tensors = {};
  for (const ad of state.adapters.values())
    for (const p of [ad.A, ad.B]) out[p.name] = { shape: [...p.shape], data: p.data };
  for (const h of heads) for (const p of h.params) out[headTensorName(p)] = { shape: [...p.shape], data: p.data };
  return out;
}

/**
 * Copies an adapter file's lora_A and lora_B into the model's adapters (attached with the file's
 * config). Every adapter must be in the file, and every lora tensor of the file must have its adapter.
 */
export function fillAdapters(model: CausalLM, tensors: TensorMap, file: string): void {
  const state = loraOf(model);
  if (!state) throw new Error('fillAdapters: the model has no LoRA adapters');
  const want = new Set<string>();
  for (const ad of state.adapters.values()) {
    for (const p of [ad.A, ad.B]) {
      want.add(p.name);
      const t = tensors.get(p.name);
      if (!t) throw new Error(`${file}: no tensor ${p.name} (adapter_config.json targets ${ad.linear.name})`);
      if (t.shape.join(',') !== p.shape.join(','))
        throw new Error(
          `${file}: ${p.name} has shape [${t.shape.join(', ')}], the model needs [${p.shape.join(', ')}]`,
        );
      p.data.set(t.data);
    }
  }
  const stray = [...tensors.keys()].filter((k) => /\.lora_[AB]\./.test(k) && !want.has(k));
  if (stray.length)
    throw new Error(
      `${file}: ${stray.length} LoRA tensor(s) for modules adapter_config.json does not target, e.g. ${stray[0]}`,
    );
}

// ---- the directory ----

/** True when dir holds a LoRA adapter (adapter_config.json) rather than a whole model. */
export function isAdapterDir(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG_FILE));
}

function readJSONFile(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** adapter_config.json, with its base model resolved to a directory here. */
export function readAdapterConfig(dir: string): AdapterConfig {
  const path = join(dir, ADAPTER_CONFIG_FILE);
  const a = parseAdapterConfig(readJSONFile(path), path);
  // As written when absolute; a relative path from the working directory, else from the adapter's.
  const tries = isAbsolute(a.baseModel) ? [a.baseModel] : [resolve(a.baseModel), resolve(dir, a.baseModel)];
  const found = tries.find((d) => existsSync(d));
  if (!found)
    throw new Error(
      `${path}: base_model_name_or_path "${a.baseModel}" is not a directory here (looked in ` +
        `${tries.join(', ')}); put the base model there or set the field to its directory`,
    );
  return { ...a, baseModel: found };
}

/** rlhf.json: what trained the adapter (empty for an adapter PEFT wrote). */
export function readAdapterMeta(dir: string): Record<string, unknown> {
  const path = join(dir, ADAPTER_META_FILE);
  return existsSync(path) ? readJSONFile(path) : {};
}

export interface AdapterWeights {
  file: string;
  /** Every tensor of adapter_model.safetensors. */
  tensors: TensorMap;
  /** Head tensors by head prefix ('score', 'v_head.summary'), under the heads' own names. */
  heads: Map<string, TensorMap>;
}

/** adapter_model.safetensors, and the heads saved with it (score) or beside it (PPO's value head). */
export function readAdapterWeights(dir: string): AdapterWeights {
  const file = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(file)) throw new Error(`${file} not found: the adapter has adapter_config.json but no weights`);
  const tensors: TensorMap = readSafetensorsF32(file).tensors;
  const heads = new Map<string, TensorMap>();
  const put = (prefix: string, name: string, t: { shape: number[]; data: Float32Array }) => {
    if (!heads.has(prefix)) heads.set(prefix, new Map());
    heads.get(prefix)!.set(name, t);
  };
  for (const [k, t] of tensors) if (k.startsWith(PEFT_PREFIX + 'score.')) put('score', k.slice(PEFT_PREFIX.length), t);
  const valueFile = join(dir, VALUE_HEAD_FILE);
  if (existsSync(valueFile))
    for (const [k, t] of readSafetensorsF32(valueFile).tensors) put(k.split('.').slice(0, -1).join('.'), k, t);
  return { file, tensors, heads };
}
