// Checkpoints: a directory with model.safetensors (Hugging Face's tensor names and layouts for the
// family: GPT-2's Conv1D, or the Llama family's nn.Linear), config.json (the family's Hugging Face config
// plus our own "rlhf" section), tokenizer.json, and, to resume training, optimizer.safetensors +
// trainer_state.json. Every file is written atomically.
// Hugging Face's sharded and 16-bit weights load too (weights.ts); we save float32.
// A LoRA run's directory holds its adapter instead, in PEFT's layout (adapter-checkpoint.ts), and names
// the directory of its base model; loading it loads the base, then attaches the adapters and fills them.

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW } from '../engine/optim.js';
import { Parameter } from '../engine/tensor.js';
import { type ModelConfig, familyOf } from './config.js';
import type { CausalLM } from './causal-lm.js';
import { createModel } from './create-model.js';
import { ScalarHead } from './heads.js';
import { applyAdapterDir, restoreAdapterDir, saveAdapterDir } from './adapter-checkpoint.js';
import { loraOf } from './lora.js';
import { ADAPTER_CONFIG_FILE, isAdapterDir, readAdapterConfig, readAdapterMeta } from './peft.js';
import { fromHFConfig, sequenceClassificationArchitecture, toHFConfig } from './hf-config.js';
import { readSafetensorsF32, writeSafetensors } from './safetensors.js';
import { WEIGHTS_FILE, WEIGHTS_INDEX_FILE, findModelWeights, readModelTensors, writeModelTensors } from './weights.js';
import { Tokenizer } from './tokenizer/index.js';

export const MODEL_FILE = WEIGHTS_FILE;
export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';

/** A Llama-family model's separate output projection (absent when tied, and from GPT-2's parameters). */
export const LM_HEAD = 'lm_head.weight';

/** Hugging Face's name of a family's token embedding (V, C). */
export function tokenEmbeddingName(c: ModelConfig): string {
  return familyOf(c) === 'gpt2' ? 'transformer.wte.weight' : 'model.embed_tokens.weight';
}

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

/** Saves a model: the whole model, or, when it has LoRA adapters, only them (adapter-checkpoint.ts). */
export function saveCheckpoint(dir: string, model: CausalLM, opts: SaveOptions = {}): void {
  if (loraOf(model)) {
    saveAdapterDir(dir, model, { ...opts, baseModel: opts.baseModel ?? checkpointDirOf(model) });
    return;
  }
  mkdirSync(dir, { recursive: true });
  // A whole model now: an adapter saved here before would be loaded instead of it.
  rmSync(join(dir, ADAPTER_CONFIG_FILE), { force: true });
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const heads = (opts.heads ?? []).map((h) => h.prefix);
  const reward = heads.includes('score');
  const put = (p: Parameter) => (tensors[p.name] = { shape: [...p.shape], data: p.data });
  // NOTE: *ForSequenceClassification has no lm_head (transformers would warn of an unused weight); a reward
  // model never reads it, and loading one fills it from the embedding (modelFromTensors).
  model.params.filter((p) => !(reward && p.name === LM_HEAD)).forEach(put);
  for (const h of opts.heads ?? []) h.params.forEach(put);
  writeModelTensors(dir, tensors, { dtype: 'F32' });
  if (opts.tokenizer) opts.tokenizer.save(join(dir, TOKENIZER_FILE));
  // The weights are float32 whatever the checkpoint was loaded from.
  const extra: Record<string, unknown> = { torch_dtype: 'float32', rlhf: { ...(opts.meta ?? {}), heads } };
  if (reward) {
    // Lets transformers' GPT2ForSequenceClassification (LlamaForSequenceClassification, …) load a reward
    // model directly.
    extra.architectures = [sequenceClassificationArchitecture(model.config)];
    extra.num_labels = 1;
    extra.pad_token_id = model.config.eosTokenId;
  }
  writeFileAtomic(join(dir, CONFIG_FILE), JSON.stringify(toHFConfig(model.config, extra), null, 2) + '\n');
}

/** Reads config.json of a checkpoint directory. */
export function readCheckpointConfig(dir: string): { config: ModelConfig; meta: Record<string, unknown> } {
  if (isAdapterDir(dir)) {
    const { lora, baseModel } = readAdapterConfig(dir);
    const { rank: r, alpha, dropout, targets } = lora;
    return {
      config: readCheckpointConfig(baseModel).config,
      meta: { ...readAdapterMeta(dir), lora: { base: baseModel, r, alpha, dropout, targets } },
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

/** A tensor read from a weights file, as float32. */
export type TensorF32 = { shape: number[]; data: Float32Array };

/**
 * Loads a checkpoint directory (ours, or a Hugging Face one of a supported family); see modelFromTensors
 * for the tensors it takes.
 */
export function loadCheckpoint(dir: string, opts: LoadOptions = {}): Checkpoint {
  if (isAdapterDir(dir)) {
    const a = readAdapterConfig(dir);
    const keep = opts.adapters === 'keep';
    const ck = { dir, ...applyAdapterDir(dir, a, loadCheckpoint(a.baseModel), keep) };
    // Merged, the model is this directory's; kept, its base weights are the base directory's.
    sources.set(ck.model, keep ? a.baseModel : dir);
    return ck;
  }
  const { config, meta } = readCheckpointConfig(dir);
  const file = findModelWeights(dir); // model.safetensors, or the index of its shards
  if (file === null)
    throw new Error(
      `${join(dir, MODEL_FILE)} not found, nor ${WEIGHTS_INDEX_FILE}: the checkpoint has config.json but no weights`,
    );
  const tensors = readModelTensors(dir);
  const { model, heads } = modelFromTensors(config, tensors, file);
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

/** Resuming a LoRA run: its saved adapters (and heads) back into a model with the same adapters attached. */
export const restoreAdapterCheckpoint = restoreAdapterDir;

/** True when dir holds a LoRA run to resume: its adapter and trainer state. */
export function hasAdapterTrainingState(dir: string): boolean {
  return isAdapterDir(dir) && existsSync(join(dir, TRAINER_STATE_FILE));
}

/**
 * A model of `config` with the weights of a name → tensor map (from `file`, named in errors), and the scalar
 * heads it holds under Hugging Face's names (`score.*` as *ForSequenceClassification, TRL's `v_head.summary.*`).
 * GPT-2: names with or without the "transformer." prefix; attention mask buffers and a tied lm_head.weight
 * are skipped. Llama family: Hugging Face's names; rotary inv_freq buffers are skipped; a tied checkpoint may
 * omit lm_head.weight. Every parameter must be present with its shape, and no other tensor.
 */
export function modelFromTensors(
  config: ModelConfig,
  tensors: Map<string, TensorF32>,
  file: string,
): { model: CausalLM; heads: Map<string, ScalarHead> } {
  const gpt2 = familyOf(config) === 'gpt2';
  // An uninitialized model gives the names and shapes; every tensor then comes from the file.
  const model = createModel(config, null);
  const byName = new Map(model.params.map((p) => [p.name, p]));
  const embedName = tokenEmbeddingName(config);
  const seen = new Set<string>();
  const headTensors = new Map<string, Map<string, TensorF32>>();
  for (const [rawName, t] of tensors) {
    const name =
      gpt2 && !rawName.startsWith('transformer.') && isGPT2TrunkName(rawName) ? `transformer.${rawName}` : rawName;
    if (gpt2 ? /\.attn\.(masked_)?bias$/.test(name) : /\.rotary_emb\.inv_freq$/.test(name)) continue;
    if (name === LM_HEAD && !byName.has(name)) {
      checkTied(file, t.data, tensors.get(embedName) ?? tensors.get('wte.weight'));
      continue;
    }
    const head = Object.keys(HEAD_SHAPES).find((h) => name.startsWith(h + '.'));
    if (head) {
      if (!headTensors.has(head)) headTensors.set(head, new Map());
      headTensors.get(head)!.set(name, t);
      continue;
    }
    const p = byName.get(name);
    if (!p)
      throw new Error(
        `${file}: unexpected tensor "${rawName}"; this is not a ${familyOf(config)} checkpoint of this config.json ` +
          `(known: ${gpt2 ? 'transformer.*' : 'model.*, lm_head.weight'}, score.*, v_head.summary.*)`,
      );
    copyInto(file, p, t);
    seen.add(name);
  }
  let missing = model.params.filter((p) => !seen.has(p.name)).map((p) => p.name);
  if (missing.length === 1 && missing[0] === LM_HEAD && headTensors.has('score')) {
    // NOTE: an untied *ForSequenceClassification checkpoint (a reward model trained with transformers) has
    // no lm_head; the reward model never reads it, so it starts as a copy of the embedding.
    model.param(LM_HEAD).data.set(model.param(embedName).data);
    missing = [];
  }
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
    for (const name of ts.keys()) {
      if (!head.params.some((p) => p.name === name)) throw new Error(`${file}: unexpected tensor "${name}"`);
    }
    heads.set(prefix, head);
  }
  return { model, heads };
}

function isGPT2TrunkName(name: string): boolean {
  return /^(wte|wpe|ln_f|h\.\d+)\./.test(name);
}

function copyInto(file: string, p: Parameter, t: TensorF32): void {
  if (t.shape.join(',') !== p.shape.join(',')) {
    throw new Error(
      `${file}: tensor ${p.name} has shape [${t.shape.join(', ')}], config.json implies [${p.shape.join(', ')}]`,
    );
  }
  // A tensor read into its own array becomes the parameter's data (no second copy of a large model).
  const own = t.data.byteOffset === 0 && t.data.buffer.byteLength === t.data.byteLength;
  if (own && !(t.data.buffer instanceof SharedArrayBuffer)) p.data = t.data;
  else p.data.set(t.data);
}

function checkTied(file: string, head: Float32Array, embed?: { data: Float32Array }): void {
  if (!embed) return;
  for (let i = 0; i < head.length; i += 97) {
    if (head[i] !== embed.data[i])
      throw new Error(
        `${file}: lm_head.weight differs from the token embedding, but config.json ties them ` +
          `(tie_word_embeddings); GPT-2's head is always tied, a Llama-family config.json needs ` +
          `"tie_word_embeddings": false for a separate lm_head`,
      );
  }
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
  return existsSync(join(dir, TRAINER_STATE_FILE)) && findModelWeights(dir) !== null;
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
