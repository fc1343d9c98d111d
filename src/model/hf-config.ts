// Our ModelConfig to and from Hugging Face's config.json: GPT2Config, LlamaConfig, Qwen2Config and
// Qwen3Config (field names and defaults as in transformers' configuration_*.py). A value we cannot run
// is refused here, at load, naming the field and the value.

import {
  type ModelConfig,
  type ModelFamily,
  type RopeScaling,
  familyOf,
  headDimOf,
  kvHeadsOf,
  validateConfig,
} from './config.js';

type Json = Record<string, unknown>;

/** model_type of each family, and the architecture names transformers loads it as. */
const HF_NAMES: Record<ModelFamily, { modelType: string; causalLM: string; sequenceClassification: string }> = {
  gpt2: { modelType: 'gpt2', causalLM: 'GPT2LMHeadModel', sequenceClassification: 'GPT2ForSequenceClassification' },
  llama: { modelType: 'llama', causalLM: 'LlamaForCausalLM', sequenceClassification: 'LlamaForSequenceClassification' },
  qwen2: { modelType: 'qwen2', causalLM: 'Qwen2ForCausalLM', sequenceClassification: 'Qwen2ForSequenceClassification' },
  qwen3: { modelType: 'qwen3', causalLM: 'Qwen3ForCausalLM', sequenceClassification: 'Qwen3ForSequenceClassification' },
};
const SUPPORTED = Object.values(HF_NAMES)
  .map((n) => `"${n.modelType}"`)
  .join(', ');

/** The architecture name transformers' AutoModelForSequenceClassification builds for a family (a reward model). */
export function sequenceClassificationArchitecture(c: ModelConfig): string {
  return HF_NAMES[familyOf(c)].sequenceClassification;
}

/** Our config as the family's Hugging Face config (config.json), so transformers can load the checkpoint. */
export function toHFConfig(c: ModelConfig, extra: Json = {}): Json {
  return familyOf(c) === 'gpt2' ? { ...toGPT2Config(c), ...extra } : { ...toLlamaConfig(c), ...extra };
}

/** The family a config.json describes: its model_type, or when absent its architectures (GPT-2 when neither). */
export function familyOfHFConfig(j: Json, source = 'config.json'): ModelFamily {
  const mt = j.model_type;
  if (mt !== undefined && mt !== null) {
    const f = (Object.keys(HF_NAMES) as ModelFamily[]).find((k) => HF_NAMES[k].modelType === mt);
    if (!f)
      throw new Error(
        `${source}: model_type is ${JSON.stringify(mt)}, which is not supported; supported model_type values: ` +
          `${SUPPORTED} (Llama 2/3, SmolLM, TinyLlama, Qwen2/2.5 and Qwen3 checkpoints have one of these)`,
      );
    return f;
  }
  const arch = Array.isArray(j.architectures) ? String(j.architectures[0]) : undefined;
  if (arch === undefined) return 'gpt2';
  const m = /^(GPT2|Llama|Qwen2|Qwen3)(For[A-Za-z]+|Model|LMHeadModel|DoubleHeadsModel)$/.exec(arch);
  if (!m)
    throw new Error(
      `${source}: architectures is ["${arch}"] and model_type is missing; supported model_type values: ${SUPPORTED}`,
    );
  return m[1].toLowerCase() as ModelFamily;
}

/** Reads a Hugging Face config.json object of a supported family; errors name the file and field. */
export function fromHFConfig(j: Json, source = 'config.json'): ModelConfig {
  const family = familyOfHFConfig(j, source);
  const cfg = family === 'gpt2' ? fromGPT2Config(j, source) : fromLlamaConfig(j, family, source);
  validateConfig(cfg, source);
  return cfg;
}

// ---- GPT-2 ----

function toGPT2Config(c: ModelConfig): Json {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: c.layerNormEps,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    initializer_range: 0.02,
    bos_token_id: c.eosTokenId,
    eos_token_id: c.eosTokenId,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
  };
}

function fromGPT2Config(j: Json, source: string): ModelConfig {
  const num = numberReader(j, source, 'a GPT-2 config.json has vocab_size, n_positions, n_embd, n_layer, n_head');
  const act = j.activation_function;
  if (act !== undefined && act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') {
    throw new Error(
      `${source}: activation_function "${String(act)}" is not supported; GPT-2 uses "gelu_new" (the tanh form)`,
    );
  }
  if (j.n_inner !== undefined && j.n_inner !== null && j.n_inner !== 4 * num('n_embd')) {
    throw new Error(`${source}: n_inner ${String(j.n_inner)} is not supported; the MLP width must be 4·n_embd`);
  }
  const vocabSize = num('vocab_size');
  return {
    vocabSize,
    nPositions: num('n_positions', j.n_ctx as number | undefined),
    nEmbd: num('n_embd'),
    nHead: num('n_head'),
    nLayer: num('n_layer'),
    layerNormEps: num('layer_norm_epsilon', 1e-5),
    eosTokenId: num('eos_token_id', vocabSize - 1),
  };
}

// ---- Llama, Qwen2, Qwen3 ----

function toLlamaConfig(c: ModelConfig): Json {
  const family = familyOf(c);
  const eos = c.eosTokenIds && c.eosTokenIds.length > 1 ? c.eosTokenIds : c.eosTokenId;
  const out: Json = {
    architectures: [HF_NAMES[family].causalLM],
    model_type: HF_NAMES[family].modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.nEmbd,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    num_key_value_heads: kvHeadsOf(c),
    head_dim: headDimOf(c),
    hidden_act: 'silu',
    max_position_embeddings: c.nPositions,
    initializer_range: 0.02,
    rms_norm_eps: c.layerNormEps,
    rope_theta: c.ropeTheta ?? 10000,
    rope_scaling: c.ropeScaling ? toHFRopeScaling(c.ropeScaling) : null,
    tie_word_embeddings: c.tieWordEmbeddings ?? false,
    attention_dropout: 0,
    use_cache: true,
    bos_token_id: c.bosTokenId ?? null,
    eos_token_id: eos,
    torch_dtype: 'float32',
  };
  if (family === 'llama')
    Object.assign(out, { attention_bias: c.attentionBias ?? false, mlp_bias: c.mlpBias ?? false });
  if (family === 'qwen3') out.attention_bias = c.attentionBias ?? false;
  if (family !== 'llama')
    Object.assign(out, { use_sliding_window: false, sliding_window: null, max_window_layers: c.nLayer });
  return out;
}

function toHFRopeScaling(r: RopeScaling): Json {
  if (r.type === 'linear') return { rope_type: 'linear', factor: r.factor };
  return {
    rope_type: 'llama3',
    factor: r.factor,
    low_freq_factor: r.lowFreqFactor,
    high_freq_factor: r.highFreqFactor,
    original_max_position_embeddings: r.originalMaxPositionEmbeddings,
  };
}

/** HF's defaults where a config.json leaves a field out (configuration_llama/qwen2/qwen3.py). */
const LLAMA_DEFAULTS: Record<Exclude<ModelFamily, 'gpt2'>, { maxPositions: number; bos?: number; eos?: number }> = {
  llama: { maxPositions: 2048, bos: 1, eos: 2 },
  qwen2: { maxPositions: 32768 },
  qwen3: { maxPositions: 32768 },
};

function fromLlamaConfig(j: Json, family: Exclude<ModelFamily, 'gpt2'>, source: string): ModelConfig {
  const num = numberReader(
    j,
    source,
    `a ${family} config.json has vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads`,
  );
  const bool = (key: string, fallback: boolean): boolean => {
    const v = j[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean')
      throw new Error(`${source}: field "${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const act = j.hidden_act;
  if (act !== undefined && act !== 'silu' && act !== 'swish')
    throw new Error(`${source}: hidden_act ${JSON.stringify(act)} is not supported; the Llama family uses "silu"`);
  const prf = j.partial_rotary_factor;
  if (prf !== undefined && prf !== null && prf !== 1)
    throw new Error(
      `${source}: partial_rotary_factor ${JSON.stringify(prf)} is not supported; only 1 (RoPE on the whole head)`,
    );
  const nLayer = num('num_hidden_layers');
  refuseSlidingWindow(j, nLayer, source);
  const nEmbd = num('hidden_size'),
    nHead = num('num_attention_heads');
  // Qwen3Config's head_dim defaults to 128; LlamaConfig's (and Qwen2's, which has none) to hidden_size / heads.
  const headDim = num('head_dim', family === 'qwen3' ? 128 : nEmbd / nHead);
  const defaults = LLAMA_DEFAULTS[family];
  const eosIds = eosTokenIds(j, defaults.eos, source);
  const bos = j.bos_token_id ?? defaults.bos;
  if (bos !== undefined && bos !== null && typeof bos !== 'number')
    throw new Error(`${source}: field "bos_token_id" must be a number or null, got ${JSON.stringify(bos)}`);
  const cfg: ModelConfig = {
    family,
    vocabSize: num('vocab_size'),
    nPositions: num('max_position_embeddings', defaults.maxPositions),
    nEmbd,
    nHead,
    nLayer,
    layerNormEps: num('rms_norm_eps', 1e-6),
    eosTokenId: eosIds[0],
    nKvHead: num('num_key_value_heads', nHead),
    headDim,
    intermediateSize: num('intermediate_size'),
    ropeTheta: num('rope_theta', 10000),
    ropeScaling: ropeScalingOf(j.rope_scaling, source),
    tieWordEmbeddings: bool('tie_word_embeddings', false),
    attentionBias: family === 'qwen2' ? undefined : bool('attention_bias', false),
    mlpBias: family === 'llama' ? bool('mlp_bias', false) : undefined,
    eosTokenIds: eosIds,
  };
  if (typeof bos === 'number') cfg.bosTokenId = bos;
  checkLlamaFields(cfg, source);
  if (cfg.attentionBias === undefined) delete cfg.attentionBias;
  if (cfg.mlpBias === undefined) delete cfg.mlpBias;
  return cfg;
}

/** The checks of validateConfig that a config.json can fail, in its own field names. */
function checkLlamaFields(c: ModelConfig, source: string): void {
  const kv = kvHeadsOf(c);
  if (!(Number.isInteger(kv) && kv > 0 && c.nHead % kv === 0))
    throw new Error(
      `${source}: num_key_value_heads ${kv} must be a positive integer that divides num_attention_heads ${c.nHead}`,
    );
  const hd = headDimOf(c);
  if (!(Number.isInteger(hd) && hd > 0 && hd % 2 === 0))
    throw new Error(
      `${source}: head_dim ${hd} (given, or hidden_size / num_attention_heads) must be a positive even integer`,
    );
  const ids: [string, number[]][] = [
    ['eos_token_id', c.eosTokenIds ?? []],
    ['bos_token_id', c.bosTokenId === undefined ? [] : [c.bosTokenId]],
  ];
  for (const [field, values] of ids) {
    const bad = values.find((id) => !(Number.isInteger(id) && id >= 0 && id < c.vocabSize));
    if (bad !== undefined)
      throw new Error(`${source}: ${field} ${bad} is outside the vocabulary [0, vocab_size = ${c.vocabSize})`);
  }
}

function eosTokenIds(j: Json, fallback: number | undefined, source: string): number[] {
  const v = j.eos_token_id ?? fallback;
  if (v === undefined || v === null)
    throw new Error(
      `${source}: field "eos_token_id" is missing; set it to the id of the tokenizer's end-of-sequence token`,
    );
  const ids = Array.isArray(v) ? v : [v];
  if (ids.length === 0 || ids.some((x) => typeof x !== 'number'))
    throw new Error(`${source}: field "eos_token_id" must be a number or a list of numbers, got ${JSON.stringify(v)}`);
  return ids as number[];
}

/** rope_scaling: null, "default", "linear" or "llama3" (the key is rope_type, or type in older files). */
function ropeScalingOf(v: unknown, source: string): RopeScaling | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new Error(`${source}: field "rope_scaling" must be an object or null, got ${JSON.stringify(v)}`);
  const r = v as Json;
  const type = r.rope_type ?? r.type ?? 'default';
  const num = (key: string): number => {
    const x = r[key];
    if (typeof x !== 'number')
      throw new Error(
        `${source}: rope_scaling.${key} must be a number for rope_type "${type}", got ${JSON.stringify(x)}`,
      );
    return x;
  };
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: num('factor') };
  if (type === 'llama3')
    return {
      type: 'llama3',
      factor: num('factor'),
      lowFreqFactor: num('low_freq_factor'),
      highFreqFactor: num('high_freq_factor'),
      originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
    };
  throw new Error(
    `${source}: rope_scaling.rope_type ${JSON.stringify(type)} is not supported; supported: "default", "linear", ` +
      `"llama3" (or rope_scaling null)`,
  );
}

/** Qwen's sliding-window attention (on layers from max_window_layers on, when use_sliding_window): refused. */
function refuseSlidingWindow(j: Json, nLayer: number, source: string): void {
  const types = j.layer_types;
  if (Array.isArray(types) && types.some((t) => t !== 'full_attention'))
    throw new Error(
      `${source}: layer_types has ${JSON.stringify(types.find((t) => t !== 'full_attention'))}; only ` +
        `"full_attention" layers are supported (sliding-window attention is not)`,
    );
  if (j.use_sliding_window !== true) return;
  const from = typeof j.max_window_layers === 'number' ? j.max_window_layers : 28;
  if (from < nLayer)
    throw new Error(
      `${source}: use_sliding_window is true (layers ${from} and on would use sliding-window attention), which ` +
        `is not supported; set it to false to run every layer with full attention`,
    );
}

/** A reader of numeric fields: missing ones take the fallback or are refused with the hint. */
function numberReader(j: Json, source: string, hint: string) {
  return (key: string, fallback?: number): number => {
    const v = j[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new Error(`${source}: missing field "${key}" (${hint})`);
    }
    if (typeof v !== 'number') throw new Error(`${source}: field "${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
}
