// Checkpoints: a directory with model.safetensors (Hugging Face GPT-2 tensor names, Conv1D layout),
// config.json (a GPT2Config plus our own "rlhf" section), tokenizer.json, and, to resume
// training, optimizer.safetensors + trainer_state.json. Every file is written atomically.
// A LoRA run's directory holds its adapter instead, in PEFT's layout (model/peft.ts), and names the
// directory of its base model; loading it loads the base, attaches the adapters and fills them.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AdamW } from '../engine/optim.js';
import { Parameter } from '../engine/tensor.js';
import { ModelConfig, fromHFConfig, toHFConfig } from './config.js';
import type { CausalLM } from './causal-lm.js';
import { createModel } from './create-model.js';
import { ScalarHead } from './heads.js';
import { attachLora, loraOf, mergeLora } from './lora.js';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_META_FILE,
  ADAPTER_WEIGHTS_FILE,
  type TensorMap,
  VALUE_HEAD_FILE,
  adapterConfigJSON,
  adapterTensors,
  fillAdapters,
  headTensorName,
  isAdapterDir,
  readAdapterConfig,
  readAdapterMeta,
  readAdapterWeights,
} from './peft.js';
import { readSafetensorsF32, writeSafetensors } from './safetensors.js';
import { Tokenizer } from './tokenizer/index.js';

export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';

/** Head prefixes we know: the reward model's score and PPO's value head. */
const HEAD_SHAPES: Record<string, { bias: boolean }> = { score: { bias: false }, 'v_head.summary': { bias: true } };

export interface SaveOptions {
  heads?: ScalarHead[];
  tokenizer?: Tokenizer | null;
  /** Stored under "rlhf" in config.json: what kind of model this is, how it was trained. */
  meta?: Record<string, unknown>;
  /** A LoRA model's base directory, named in adapter_config.json (default: the one it was loaded from). */
  baseModel?: string;
}

export interface LoadOptions {
  /**
   * An adapter directory's adapters: 'merge' (the default) folds them into the base weights, giving a
   * plain model; 'keep' leaves them attached (and the base frozen), e.g. to go on training them.
   */
  adapters?: 'merge' | 'keep';
}

export interface Checkpoint {
  dir: string;
  model: CausalLM;
  heads: Map<string, ScalarHead>;
  tokenizer: Tokenizer | null;
  meta: Record<string, unknown>;
}

/** Writes a text file atomically: a temp file in the same directory, then rename. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Saves a model: the whole model, or, when it has LoRA adapters, only them (saveAdapterCheckpoint). */
export function saveCheckpoint(dir: string, model: CausalLM, opts: SaveOptions = {}): void {
  if (loraOf(model)) {
    saveAdapterCheckpoint(dir, model, opts);
    return;
  }
  mkdirSync(dir, { recursive: true });
  // A full model now: an adapter saved here before would be loaded instead of it.
  rmSync(join(dir, ADAPTER_CONFIG_FILE), { force: true });
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const put = (p: Parameter) => (tensors[p.name] = { shape: [...p.shape], data: p.data });
  model.params.forEach(put);
  for (const h of opts.heads ?? []) h.params.forEach(put);
  writeSafetensors(join(dir, MODEL_FILE), tensors, { format: 'pt' });
  if (opts.tokenizer) opts.tokenizer.save(join(dir, TOKENIZER_FILE));
  const heads = (opts.heads ?? []).map((h) => h.prefix);
  const extra: Record<string, unknown> = { rlhf: { ...(opts.meta ?? {}), heads } };
  if (heads.includes('score')) {
    // Lets transformers' GPT2ForSequenceClassification load a reward model directly.
    extra.architectures = ['GPT2ForSequenceClassification'];
    extra.num_labels = 1;
    extra.pad_token_id = model.config.eosTokenId;
  }
  writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(toHFConfig(model.config, extra), null, 2) + '\n');
}

/** Reads config.json of a checkpoint directory. */
export function readCheckpointConfig(dir: string): { config: ModelConfig; meta: Record<string, unknown> } {
  if (isAdapterDir(dir)) {
    const a = readAdapterConfig(dir);
    const meta = readAdapterMeta(dir);
    const { rank, alpha, dropout, targets } = a.lora;
    return {
      config: readCheckpointConfig(a.baseModel).config,
      meta: { ...meta, lora: { base: a.baseModel, r: rank, alpha, dropout, targets } },
    };
  }
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) {
    throw new Error(
      `${path} not found: a checkpoint directory holds config.json and model.safetensors (made by \`rlhf train ` +
        `…\` or Hugging Face save_pretrained)`,
    );
  }
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const meta = (j.rlhf && typeof j.rlhf === 'object' ? j.rlhf : {}) as Record<string, unknown>;
  return { config: fromHFConfig(j, path), meta };
}

/**
 * Loads a checkpoint directory (ours, or a Hugging Face GPT-2 one: names with or without the
 * "transformer." prefix; attention mask buffers and a tied lm_head.weight are skipped).
 */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): Checkpoint {
  if (isAdapterDir(dir)) return loadAdapterCheckpoint(dir, opts);
  const { config, meta } = readCheckpointConfig(dir);
  const file = join(dir, MODEL_FILE);
  if (!existsSync(file)) throw new Error(`${file} not found: the checkpoint has config.json but no weights`);
  const { tensors } = readSafetensorsF32(file);
  // A temporary seed-0 model gives the shapes; every tensor is then overwritten from the file.
  const model = createModel(config);
  const seen = new Set<string>();
  const headTensors = new Map<string, Map<string, { shape: number[]; data: Float32Array }>>();
  for (const [rawName, t] of tensors) {
    const name = rawName.startsWith('transformer.') || !isTrunkName(rawName) ? rawName : `transformer.${rawName}`;
    if (/\.attn\.(masked_)?bias$/.test(name)) continue;
    if (name === 'lm_head.weight') {
      checkTied(file, t.data, tensors.get('transformer.wte.weight') ?? tensors.get('wte.weight'));
      continue;
    }
    const head = Object.keys(HEAD_SHAPES).find((h) => name.startsWith(h + '.'));
    if (head) {
      if (!headTensors.has(head)) headTensors.set(head, new Map());
      headTensors.get(head)!.set(name, t);
      continue;
    }
    const p = model.params.find((q) => q.name === name);
    if (!p)
      throw new Error(
        `${file}: unexpected tensor "${rawName}"; this is not a GPT-2 checkpoint we can read (known: ` +
          `transformer.*, score.*, v_head.summary.*)`,
      );
    copyInto(file, p, t);
    seen.add(name);
  }
  const missing = model.params.filter((p) => !seen.has(p.name)).map((p) => p.name);
  if (missing.length)
    throw new Error(
      `${file}: missing tensors ` +
        `${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
    );
  const heads = new Map<string, ScalarHead>();
  for (const [prefix, ts] of headTensors) {
    const head = new ScalarHead(prefix, config.nEmbd, HEAD_SHAPES[prefix].bias);
    for (const p of head.params) {
      const t = ts.get(p.name);
      if (!t) throw new Error(`${file}: head "${prefix}" is missing tensor ${p.name}`);
      copyInto(file, p, t);
    }
    heads.set(prefix, head);
  }
  const tokPath = join(dir, TOKENIZER_FILE);
  const hasGPT2Vocab = existsSync(join(dir, 'encoder.json')) && existsSync(join(dir, 'vocab.bpe'));
  const tokenizer = existsSync(tokPath) || hasGPT2Vocab ? Tokenizer.load(dir) : null;
  if (tokenizer && tokenizer.vocabSize > config.vocabSize) {
    throw new Error(
      `${dir}: tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`,
    );
  }
  sources.set(model, dir);
  return { dir, model, heads, tokenizer, meta };
}

const sources = new WeakMap<CausalLM, string>();

/**
 * The directory a model's weights were loaded from (a LoRA adapter saved from it names it as its base;
 * for an adapter loaded with its adapters kept, the adapter's base), or null.
 */
export function checkpointDirOf(model: CausalLM): string | null {
  return sources.get(model) ?? null;
}

function isTrunkName(name: string): boolean {
  return /^(wte|wpe|ln_f|h\.\d+)\./.test(name);
}

function copyInto(file: string, p: Parameter, t: { shape: number[]; data: Float32Array }): void {
  if (t.shape.join(',') !== p.shape.join(',')) {
    throw new Error(
      `${file}: tensor ${p.name} has shape [${t.shape.join(', ')}], config.json implies [${p.shape.join(', ')}]`,
    );
  }
  p.data.set(t.data);
}

function checkTied(file: string, head: Float32Array, wte?: { data: Float32Array }): void {
  if (!wte) return;
  for (let i = 0; i < head.length; i += 97) {
    if (head[i] !== wte.data[i])
      throw new Error(`${file}: lm_head.weight differs from the token embedding; only tied GPT-2 heads are supported`);
  }
}

// ---- LoRA adapters (PEFT's layout, model/peft.ts) ----

/**
 * Writes a LoRA model's adapters in PEFT's layout: adapter_config.json naming the base directory,
 * adapter_model.safetensors (lora_A, lora_B, and a reward model's score head as modules_to_save),
 * value_head.safetensors for PPO's value head, rlhf.json (the meta) and the tokenizer.
 */
function saveAdapterCheckpoint(dir: string, model: CausalLM, opts: SaveOptions): void {
  const baseModel = opts.baseModel ?? checkpointDirOf(model);
  if (!baseModel)
    throw new Error(
      'saving LoRA adapters: the base model was not loaded from a directory, and adapter_config.json must name ' +
        'one; start from a saved model (--init DIR)',
    );
  if (resolve(dir) === resolve(baseModel))
    throw new Error(`${dir}: an adapter cannot be saved over its own base model; save it in another directory`);
  mkdirSync(dir, { recursive: true });
  const heads = opts.heads ?? [];
  const score = heads.filter((h) => h.prefix === 'score');
  const others = heads.filter((h) => h.prefix !== 'score');
  writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), adapterTensors(model, score), { format: 'pt' });
  const valueFile = join(dir, VALUE_HEAD_FILE);
  if (others.length) {
    const t: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const h of others) for (const p of h.params) t[p.name] = { shape: [...p.shape], data: p.data };
    writeSafetensors(valueFile, t, { format: 'pt' });
  } else rmSync(valueFile, { force: true });
  const config = adapterConfigJSON(model, {
    baseModel: resolve(baseModel),
    taskType: score.length ? 'SEQ_CLS' : 'CAUSAL_LM',
    modulesToSave: score.length ? ['score'] : [],
  });
  writeFileAtomic(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
  const meta = { ...(opts.meta ?? {}), heads: heads.map((h) => h.prefix) };
  writeFileAtomic(join(dir, ADAPTER_META_FILE), JSON.stringify(meta, null, 2) + '\n');
  if (opts.tokenizer) opts.tokenizer.save(join(dir, TOKENIZER_FILE));
}

function fillHead(dir: string, head: ScalarHead, ts: TensorMap): void {
  for (const p of head.params) {
    const t = ts.get(p.name);
    if (!t) throw new Error(`${dir}: the adapter's head "${head.prefix}" has no ${headTensorName(p)}`);
    copyInto(dir, p, t);
  }
}

/** Loads the base model (itself possibly an adapter, merged), attaches the adapter and fills it. */
function loadAdapterCheckpoint(dir: string, opts: LoadOptions): Checkpoint {
  const a = readAdapterConfig(dir);
  const base = loadCheckpoint(a.baseModel);
  const model = base.model;
  attachLora(model, a.lora);
  const w = readAdapterWeights(dir);
  fillAdapters(model, w.tensors, w.file);
  const heads = new Map(base.heads);
  for (const [prefix, ts] of w.heads) {
    const shape = HEAD_SHAPES[prefix];
    if (!shape) throw new Error(`${dir}: unknown head "${prefix}" (known: ${Object.keys(HEAD_SHAPES).join(', ')})`);
    const head = new ScalarHead(prefix, model.config.nEmbd, shape.bias);
    fillHead(dir, head, ts);
    heads.set(prefix, head);
  }
  const merge = (opts.adapters ?? 'merge') === 'merge';
  if (merge) mergeLora(model);
  const hasTok = existsSync(join(dir, TOKENIZER_FILE));
  // Merged, the model is this directory's; kept, its base weights are the base directory's.
  sources.set(model, merge ? dir : a.baseModel);
  return { dir, model, heads, tokenizer: hasTok ? Tokenizer.load(dir) : base.tokenizer, meta: readAdapterMeta(dir) };
}

/**
 * Puts a saved adapter (and heads) back into a model whose adapters were attached with the same
 * configuration: resuming a LoRA run from its directory.
 */
export function restoreAdapterCheckpoint(dir: string, model: CausalLM, heads: ScalarHead[] = []): void {
  const state = loraOf(model);
  if (!state) throw new Error('restoreAdapterCheckpoint: the model has no LoRA adapters');
  const path = join(dir, ADAPTER_CONFIG_FILE);
  const saved = readAdapterConfig(dir).lora;
  const { rank, alpha } = state.config;
  if (saved.rank !== rank || saved.alpha !== alpha)
    throw new Error(
      `${path}: the run was saved with LoRA rank ${saved.rank} and alpha ${saved.alpha}, not ${rank} and ` +
        `${alpha}; resume with --lora-rank ${saved.rank} --lora-alpha ${saved.alpha}`,
    );
  const w = readAdapterWeights(dir);
  fillAdapters(model, w.tensors, w.file);
  for (const h of heads) {
    const ts = w.heads.get(h.prefix);
    if (!ts) throw new Error(`${dir}: the saved run has no head "${h.prefix}" to resume`);
    fillHead(dir, h, ts);
  }
}

/** True when dir holds a LoRA run to resume: its adapter and trainer state. */
export function hasAdapterTrainingState(dir: string): boolean {
  return isAdapterDir(dir) && existsSync(join(dir, TRAINER_STATE_FILE));
}

// ---- training state ----

export interface TrainerState {
  step: number;
  [key: string]: unknown;
}

/** Saves optimizer moments (named like the parameters) and the trainer's state for resuming. */
export function saveTrainingState(dir: string, opt: AdamW, state: TrainerState): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  opt.params.forEach((p, i) => {
    tensors[`m.${p.name}`] = { shape: [...p.shape], data: opt.m[i] };
    tensors[`v.${p.name}`] = { shape: [...p.shape], data: opt.v[i] };
  });
  writeSafetensors(join(dir, OPTIMIZER_FILE), tensors, { step: String(opt.step) });
  writeFileAtomic(join(dir, TRAINER_STATE_FILE), JSON.stringify({ ...state, optimizerStep: opt.step }, null, 2) + '\n');
}

/** True when dir holds a checkpoint with the trainer state to resume from. */
export function hasTrainingState(dir: string): boolean {
  return existsSync(join(dir, TRAINER_STATE_FILE)) && existsSync(join(dir, MODEL_FILE));
}

/** Restores what saveTrainingState wrote; returns the trainer state, or null when there is none. */
export function loadTrainingState(dir: string, opt: AdamW): TrainerState | null {
  const sPath = join(dir, TRAINER_STATE_FILE),
    oPath = join(dir, OPTIMIZER_FILE);
  if (!existsSync(sPath) || !existsSync(oPath)) return null;
  const state = JSON.parse(readFileSync(sPath, 'utf8')) as TrainerState & { optimizerStep?: number };
  const { tensors } = readSafetensorsF32(oPath);
  opt.params.forEach((p, i) => {
    for (const [k, arr] of [
      ['m', opt.m[i]],
      ['v', opt.v[i]],
    ] as const) {
      const t = tensors.get(`${k}.${p.name}`);
      if (!t || t.data.length !== arr.length)
        throw new Error(
          `${oPath}: optimizer state for ${p.name} is missing or has the wrong size; resume with the same model ` +
            `and trainer`,
        );
      arr.set(t.data);
    }
  });
  opt.step = state.optimizerStep ?? state.step;
  return state;
}
