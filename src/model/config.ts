// Model configuration (every family), named presets, validation and parameter counts. The mapping to and
// from Hugging Face's config.json is in hf-config.ts.

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

  // ---- Llama family only (absent for GPT-2) ----
  /** Width of the SwiGLU MLP: gate_proj and up_proj have this many outputs (intermediate_size). */
  intermediateSize?: number;
  /** RoPE base period (rope_theta); absent means 10000. */
  ropeTheta?: number;
  /** RoPE frequency scaling (rope_scaling); absent or null means none (HF's "default"). */
  ropeScaling?: RopeScaling | null;
  /** lm_head shares the token embedding (tie_word_embeddings); absent means false. GPT-2 is always tied. */
  tieWordEmbeddings?: boolean;
  /**
   * Biases on the attention projections (attention_bias). llama and qwen3: on q, k, v and o alike; qwen2
   * ignores it: q, k and v always have a bias, o never (see attentionBiasesOf).
   */
  attentionBias?: boolean;
  /** Biases on gate_proj, up_proj and down_proj (llama's mlp_bias; Qwen has none). */
  mlpBias?: boolean;
  /** Token id that begins a sequence (bos_token_id), when the model has one. */
  bosTokenId?: number;
  /** Every end-of-sequence id (eos_token_id may be a list, e.g. Llama 3's); eosTokenId is the first. */
  eosTokenIds?: number[];
}

/** RoPE scaling (Hugging Face's rope_scaling, modeling_rope_utils.py). */
export type RopeScaling =
  /** Positions divided by factor (every frequency divided by factor). */
  | { type: 'linear'; factor: number }
  /**
   * Llama 3.1: wavelengths longer than originalMaxPositionEmbeddings / lowFreqFactor are divided by factor,
   * shorter than originalMaxPositionEmbeddings / highFreqFactor kept, those between interpolated.
   */
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

/** The family of a config ('gpt2' when absent). */
export const familyOf = (c: ModelConfig): ModelFamily => c.family ?? 'gpt2';
/** Key/value heads of a config (nHead without grouped-query attention). */
export const kvHeadsOf = (c: ModelConfig): number => c.nKvHead ?? c.nHead;
/** Width of one attention head. */
export const headDimOf = (c: ModelConfig): number => c.headDim ?? c.nEmbd / c.nHead;
/** True for the families built by model/llama.ts (RMSNorm, RoPE, SwiGLU). */
export const isLlamaFamily = (c: ModelConfig): boolean => familyOf(c) !== 'gpt2';
/** Which attention projections carry a bias: qwen2 always on q, k, v and never on o; the others as attentionBias. */
export function attentionBiasesOf(c: ModelConfig): { qkv: boolean; o: boolean } {
  if (familyOf(c) === 'qwen2') return { qkv: true, o: false };
  const b = c.attentionBias ?? false;
  return { qkv: b, o: b };
}
/** Width of the MLP (GPT-2: 4·nEmbd). */
export const intermediateSizeOf = (c: ModelConfig): number => c.intermediateSize ?? 4 * c.nEmbd;

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
  const family = familyOf(c);
  if (!MODEL_FAMILIES.includes(family))
    throw new Error(`${source}: family "${family}" is not one of ${MODEL_FAMILIES.join(', ')}`);
  if (family === 'gpt2' || c.headDim === undefined) {
    if (c.nEmbd % c.nHead !== 0)
      throw new Error(`${source}: nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
  }
  if (!(c.layerNormEps > 0)) throw new Error(`${source}: layerNormEps must be > 0, got ${c.layerNormEps}`);
  const inVocab = (id: number) => Number.isInteger(id) && id >= 0 && id < c.vocabSize;
  if (!inVocab(c.eosTokenId)) {
    throw new Error(`${source}: eosTokenId ${c.eosTokenId} is outside the vocabulary [0, ${c.vocabSize})`);
  }
  if (family !== 'gpt2') validateLlamaFamily(c, source, inVocab);
}

function validateLlamaFamily(c: ModelConfig, source: string, inVocab: (id: number) => boolean): void {
  const kv = kvHeadsOf(c),
    hd = headDimOf(c);
  if (!Number.isInteger(kv) || kv <= 0 || c.nHead % kv !== 0)
    throw new Error(`${source}: nKvHead (${kv}) must be a positive integer that divides nHead (${c.nHead})`);
  // NOTE: rotate-half RoPE pairs dimension i with i + headDim/2, so the head width must be even.
  if (!Number.isInteger(hd) || hd <= 0 || hd % 2 !== 0)
    throw new Error(`${source}: headDim must be a positive even integer, got ${hd}`);
  const I = c.intermediateSize;
  if (I !== undefined && (!Number.isInteger(I) || I <= 0))
    throw new Error(`${source}: intermediateSize must be a positive integer, got ${I}`);
  if (c.ropeTheta !== undefined && !(c.ropeTheta > 0))
    throw new Error(`${source}: ropeTheta must be > 0, got ${c.ropeTheta}`);
  const rs = c.ropeScaling;
  if (rs) {
    if (!(rs.factor > 0)) throw new Error(`${source}: ropeScaling.factor must be > 0, got ${rs.factor}`);
    if (rs.type === 'llama3') {
      if (!(rs.highFreqFactor > rs.lowFreqFactor && rs.lowFreqFactor > 0))
        throw new Error(
          `${source}: ropeScaling needs 0 < lowFreqFactor < highFreqFactor, got ${rs.lowFreqFactor} and ` +
            `${rs.highFreqFactor}`,
        );
      if (!(rs.originalMaxPositionEmbeddings > 0))
        throw new Error(
          `${source}: ropeScaling.originalMaxPositionEmbeddings must be > 0, got ${rs.originalMaxPositionEmbeddings}`,
        );
    }
  }
  if (c.bosTokenId !== undefined && !inVocab(c.bosTokenId))
    throw new Error(`${source}: bosTokenId ${c.bosTokenId} is outside the vocabulary [0, ${c.vocabSize})`);
  for (const id of c.eosTokenIds ?? []) {
    if (!inVocab(id)) throw new Error(`${source}: eosTokenIds has ${id}, outside the vocabulary [0, ${c.vocabSize})`);
  }
}

/** Number of trainable parameters (tied embeddings counted once). */
export function countParameters(c: ModelConfig): number {
  const C = c.nEmbd;
  if (familyOf(c) === 'gpt2') {
    const block = 2 * C + (C * 3 * C + 3 * C) + (C * C + C) + 2 * C + (C * 4 * C + 4 * C) + (4 * C * C + C);
    return c.vocabSize * C + c.nPositions * C + c.nLayer * block + 2 * C;
  }
  const q = c.nHead * headDimOf(c),
    kv = kvHeadsOf(c) * headDimOf(c),
    I = intermediateSizeOf(c);
  const bias = attentionBiasesOf(c);
  const attn = C * (q + 2 * kv) + q * C + (bias.qkv ? q + 2 * kv : 0) + (bias.o ? C : 0);
  const qkNorm = familyOf(c) === 'qwen3' ? 2 * headDimOf(c) : 0;
  const mlp = 3 * C * I + (c.mlpBias ? 2 * I + C : 0);
  const head = c.tieWordEmbeddings ? 0 : c.vocabSize * C;
  return c.vocabSize * C + c.nLayer * (2 * C + attn + qkNorm + mlp) + C + head;
}
