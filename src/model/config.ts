// GPT configuration, named presets, and the Hugging Face GPT2Config mapping.

/** Architecture families: GPT-2, and the Llama family (Llama 2/3, SmolLM, TinyLlama; Qwen2/2.5; Qwen3). */
export const MODEL_FAMILIES = ['gpt2', 'llama', 'qwen2', 'qwen3'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

export interface ModelConfig {
  /** Architecture family; absent means 'gpt2' (every model trained here from scratch). */
  family?: ModelFamily;
  /** Tokens in the vocabulary (V). */
  vocabSize: number;
  /** Longest sequence the model can read: the number of learned positions (T max). */
  nPositions: number;
  /** Width of the residual stream (C). */
  nEmbd: number;
  /** Attention heads per layer (nh); nEmbd must be divisible by it. */
  nHead: number;
  /** Transformer blocks. */
  nLayer: number;
  /** LayerNorm epsilon (GPT-2: 1e-5). */
  layerNormEps: number;
  /** Token id that ends a sequence (<|endoftext|>). */
  eosTokenId: number;
  /** Key/value heads (grouped-query attention); absent means nHead. */
  nKvHead?: number;
  /** Width of one attention head; absent means nEmbd / nHead. */
  headDim?: number;
}

/** The family of a config ('gpt2' when absent). */
export const familyOf = (c: ModelConfig): ModelFamily => c.family ?? 'gpt2';
/** Key/value heads of a config (nHead without grouped-query attention). */
export const kvHeadsOf = (c: ModelConfig): number => c.nKvHead ?? c.nHead;
/** Width of one attention head. */
export const headDimOf = (c: ModelConfig): number => c.headDim ?? c.nEmbd / c.nHead;

/** Named sizes, from the test model to ~10M parameters. vocabSize is usually set by the tokenizer. */
export const PRESETS: Record<string, Omit<ModelConfig, 'eosTokenId'> & { note: string }> = {
  tiny: {
    vocabSize: 256,
    nPositions: 64,
    nEmbd: 32,
    nHead: 2,
    nLayer: 2,
    layerNormEps: 1e-5,
    note: 'tests, ~40k parameters',
  },
  mini: {
    vocabSize: 512,
    nPositions: 128,
    nEmbd: 64,
    nHead: 4,
    nLayer: 2,
    layerNormEps: 1e-5,
    note: 'quick experiments, ~0.15M parameters',
  },
  small: {
    vocabSize: 512,
    nPositions: 128,
    nEmbd: 128,
    nHead: 4,
    nLayer: 4,
    layerNormEps: 1e-5,
    note: 'the benchmark reference model, ~0.9M parameters',
  },
  base: {
    vocabSize: 2048,
    nPositions: 256,
    nEmbd: 256,
    nHead: 8,
    nLayer: 6,
    layerNormEps: 1e-5,
    note: '~5.3M parameters',
  },
  medium: {
    vocabSize: 4096,
    nPositions: 256,
    nEmbd: 384,
    nHead: 6,
    nLayer: 6,
    layerNormEps: 1e-5,
    note: '~12M parameters',
  },
};

/**
 * Rows of a new model's token embedding for a tokenizer of n tokens: n rounded up to a multiple of 64
 * (as nanoGPT pads GPT-2's 50,257), so matrix products see friendly shapes. The extra ids are never
 * sampled and get no probability (src/model/logits.ts).
 */
export function paddedVocabSize(n: number): number {
  return Math.ceil(n / 64) * 64;
}

export function presetConfig(name: string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown model preset "${name}"; choose one of: ${Object.keys(PRESETS).join(', ')}`);
  const { note: _note, ...rest } = p;
  const cfg = { ...rest, eosTokenId: 0, ...overrides };
  validateConfig(cfg);
  return cfg;
}

/** Checks impossible combinations once, naming the field. */
export function validateConfig(c: ModelConfig, source = 'model config'): void {
  const positive = ['vocabSize', 'nPositions', 'nEmbd', 'nHead', 'nLayer'] as const;
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new Error(`${source}: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new Error(`${source}: nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  if (!(c.layerNormEps > 0)) throw new Error(`${source}: layerNormEps must be > 0, got ${c.layerNormEps}`);
  if (!Number.isInteger(c.eosTokenId) || c.eosTokenId < 0 || c.eosTokenId >= c.vocabSize) {
    throw new Error(`${source}: eosTokenId ${c.eosTokenId} is outside the vocabulary [0, ${c.vocabSize})`);
  }
}

/** Number of trainable parameters (tied embeddings counted once). */
export function countParameters(c: ModelConfig): number {
  const C = c.nEmbd;
  const block = 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + 2 * C + (C * 4 * C + 4 * C) + (4 * C * C + C);
  return c.vocabSize * C + c.nPositions * C + c.nLayer * block + 2 * C;
}

/** Our config as a Hugging Face GPT2Config (config.json), so transformers can load the checkpoint. */
export function toHFConfig(c: ModelConfig, extra: Record<string, unknown> = {}): Record<string, unknown> {
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
    ...extra,
  };
}

/** Reads a Hugging Face GPT2Config object; errors name the file and field. */
export function fromHFConfig(j: Record<string, unknown>, source = 'config.json'): ModelConfig {
  const num = (key: string, fallback?: number): number => {
    const v = j[key];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      throw new Error(
        `${source}: missing field "${key}" (a GPT-2 config.json has vocab_size, n_positions, n_embd, n_layer, n_head)`,
      );
    }
    if (typeof v !== 'number') throw new Error(`${source}: field "${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (j.model_type !== undefined && j.model_type !== 'gpt2') {
    throw new Error(
      `${source}: model_type is "${String(j.model_type)}"; only GPT-2 ("gpt2") checkpoints are supported`,
    );
  }
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
  const cfg: ModelConfig = {
    vocabSize,
    nPositions: num('n_positions', j.n_ctx as number | undefined),
    nEmbd: num('n_embd'),
    nHead: num('n_head'),
    nLayer: num('n_layer'),
    layerNormEps: num('layer_norm_epsilon', 1e-5),
    eosTokenId: num('eos_token_id', vocabSize - 1),
  };
  validateConfig(cfg, source);
  return cfg;
}
