// A LoRA run's directory, in PEFT's layout (model/peft.ts): adapter_config.json naming the base model's
// directory, adapter_model.safetensors (lora_A, lora_B, and a reward model's score head as
// modules_to_save), value_head.safetensors for PPO's value head, rlhf.json (our notes) and the
// tokenizer. checkpoint.ts loads the base and calls these to put the adapter on it or to write one.

import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CausalLM } from './causal-lm.js';
import { type ScalarHead, rewardHead, valueHead } from './heads.js';
import { attachLora, loraOf, mergeLora } from './lora.js';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_META_FILE,
  ADAPTER_WEIGHTS_FILE,
  type AdapterConfig,
  type TensorMap,
  VALUE_HEAD_FILE,
  adapterConfigJSON,
  adapterTensors,
  fillAdapters,
  headTensorName,
  readAdapterConfig,
  readAdapterMeta,
  readAdapterWeights,
} from './peft.js';
import { writeSafetensors } from './safetensors.js';
import { Tokenizer } from './tokenizer/index.js';

const TOKENIZER_FILE = 'tokenizer.json';

/** What a directory holds once its adapter is on its base model. */
export interface AdaptedModel {
  model: CausalLM;
  heads: Map<string, ScalarHead>;
  tokenizer: Tokenizer | null;
  meta: Record<string, unknown>;
}

export interface AdapterSaveOptions {
  heads?: ScalarHead[];
  tokenizer?: Tokenizer | null;
  meta?: Record<string, unknown>;
  /** The base model's directory, named in adapter_config.json. */
  baseModel: string | null;
}

function writeText(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Writes a LoRA model's adapters (and heads) into dir. */
export function saveAdapterDir(dir: string, model: CausalLM, opts: AdapterSaveOptions): void {
  const { baseModel } = opts;
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
  writeText(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
  const meta = { ...(opts.meta ?? {}), heads: heads.map((h) => h.prefix) };
  writeText(join(dir, ADAPTER_META_FILE), JSON.stringify(meta, null, 2) + '\n');
  if (opts.tokenizer) opts.tokenizer.save(join(dir, TOKENIZER_FILE));
}

function fillHead(dir: string, head: ScalarHead, ts: TensorMap): void {
  for (const p of head.params) {
    const t = ts.get(p.name);
    if (!t) throw new Error(`${dir}: the adapter's head "${head.prefix}" has no ${headTensorName(p)}`);
    if (t.shape.join(',') !== p.shape.join(','))
      throw new Error(`${dir}: ${p.name} has shape [${t.shape.join(', ')}], the head needs [${p.shape.join(', ')}]`);
    p.data.set(t.data);
  }
}

/** A head of the kind a prefix names, for the heads an adapter directory holds. */
function newHead(dir: string, prefix: string, nEmbd: number): ScalarHead {
  if (prefix === 'score') return rewardHead(nEmbd);
  if (prefix === 'v_head.summary') return valueHead(nEmbd);
  throw new Error(`${dir}: unknown head "${prefix}" (known: score, v_head.summary)`);
}

/**
 * Puts the adapter in dir (its config `a`) on its loaded base model: attaches and fills the adapters,
 * adds its heads, and merges the adapters into the base weights unless `keep`.
 */
export function applyAdapterDir(dir: string, a: AdapterConfig, base: AdaptedModel, keep: boolean): AdaptedModel {
  const { model } = base;
  attachLora(model, a.lora);
  const w = readAdapterWeights(dir);
  fillAdapters(model, w.tensors, w.file);
  const heads = new Map(base.heads);
  for (const [prefix, ts] of w.heads) {
    const head = newHead(dir, prefix, model.config.nEmbd);
    fillHead(dir, head, ts);
    heads.set(prefix, head);
  }
  if (!keep) mergeLora(model);
  const tokenizer = existsSync(join(dir, TOKENIZER_FILE)) ? Tokenizer.load(dir) : base.tokenizer;
  return { model, heads, tokenizer, meta: readAdapterMeta(dir) };
}

/**
 * Puts a saved adapter (and heads) back into a model whose adapters were attached with the same
 * configuration: resuming a LoRA run from its directory.
 */
export function restoreAdapterDir(dir: string, model: CausalLM, heads: ScalarHead[] = []): void {
  const state = loraOf(model);
  if (!state) throw new Error('restoreAdapterDir: the model has no LoRA adapters');
  const saved = readAdapterConfig(dir).lora;
  const { rank, alpha } = state.config;
  if (saved.rank !== rank || saved.alpha !== alpha)
    throw new Error(
      `${join(dir, ADAPTER_CONFIG_FILE)}: the run was saved with LoRA rank ${saved.rank} and alpha ` +
        `${saved.alpha}, not ${rank} and ${alpha}; resume with --lora-rank ${saved.rank} --lora-alpha ${saved.alpha}`,
    );
  const w = readAdapterWeights(dir);
  fillAdapters(model, w.tensors, w.file);
  for (const h of heads) {
    const ts = w.heads.get(h.prefix);
    if (!ts) throw new Error(`${dir}: the saved run has no head "${h.prefix}" to resume`);
    fillHead(dir, h, ts);
  }
}
