// A checkpoint in the layout Hugging Face `transformers` loads and GPU trainers start from, for each family
// (GPT-2, Llama, Qwen2, Qwen3):
//
//   policy  GPT2LMHeadModel / LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM (AutoModelForCausalLM):
//           TRL's DPO/PPO/RLOO/SFT, OpenRLHF's --pretrain, vLLM (which lists each among its architectures).
//   reward  GPT2ForSequenceClassification / LlamaForSequenceClassification / … (AutoModelForSequence-
//           Classification, num_labels 1): the trunk ("transformer." or "model.") and the head as
//           "score.weight" (1, C), no bias, and no lm_head. That is the head TRL's RewardTrainer and PPO
//           scripts load, and the one OpenRLHF's reward model class builds with --value_head_prefix score (its
//           default; openrlhf/models/model.py creates getattr(base_model_prefix) + nn.Linear(hidden, 1,
//           bias=False) named by it).
//
// Our checkpoints already use Hugging Face's tensor names (model/checkpoint.ts); this writes only what a
// loader of that kind expects (no PPO value head, no optimizer state), in float32, bfloat16 or
// float16, sharded above a size as save_pretrained shards, with the tokenizer files (hf-tokenizer.ts).
//
// NOTE: a reward model reads its score at the end-of-text token that ends prompt + completion
// (model/reward-model.ts). *ForSequenceClassification reads the last token that is not padding,
// so padding must not be end-of-text: a reward export gets its own "<|pad|>" token, on a spare
// embedding row when the vocabulary has one, else on a new zero row (the LM head is unused).

import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Checkpoint, LM_HEAD, tokenEmbeddingName, writeFileAtomic } from '../model/checkpoint.js';
import { type ModelConfig, countParameters, familyOf, headDimOf } from '../model/config.js';
import { sequenceClassificationArchitecture, toHFConfig } from '../model/hf-config.js';
import { WeightDtype, writeModelTensors } from '../model/weights.js';
import { writeHFTokenizer } from './hf-tokenizer.js';

export const MODEL_KINDS = ['policy', 'reward'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
export const DTYPES = ['float32', 'bfloat16', 'float16'] as const;
export type ExportDtype = (typeof DTYPES)[number];
const SAFETENSORS_DTYPE: Record<ExportDtype, WeightDtype> = { float32: 'F32', bfloat16: 'BF16', float16: 'F16' };
/** transformers' save_pretrained default max_shard_size, "5GB". */
export const DEFAULT_MAX_SHARD_BYTES = 5e9;

/** Head sizes vLLM's attention kernels take (vLLM issue #7490: "Supported head sizes are …"). */
export const VLLM_HEAD_SIZES = [64, 80, 96, 112, 120, 128, 192, 256];

export interface ModelExportOptions {
  /** Default: "reward" when the checkpoint has a score head, else "policy". */
  kind?: ModelKind;
  dtype?: ExportDtype;
  /** Weights larger than this are split into shards with an index (default: 5 GB, as save_pretrained). */
  maxShardBytes?: number;
}

export interface ModelExport {
  kind: ModelKind;
  /** config.json's architectures[0], e.g. LlamaForSequenceClassification. */
  architecture: string;
  dtype: ExportDtype;
  dir: string;
  files: string[];
  parameters: number;
  vocabSize: number;
  padTokenId: number | null;
  /** Heads of the checkpoint that this kind of model has no place for. */
  dropped: string[];
  warnings: string[];
}

function sameDir(a: string, b: string): boolean {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));
  return real(a) === real(b);
}

export function exportModel(ck: Checkpoint, outDir: string, opts: ModelExportOptions = {}): ModelExport {
  const dtype = opts.dtype ?? 'float32';
  const kind = opts.kind ?? (ck.heads.has('score') ? 'reward' : 'policy');
  if (sameDir(ck.dir, outDir))
    throw new Error(`--out ${outDir} is the checkpoint itself; export into another directory`);
  if (!ck.tokenizer) {
    throw new Error(
      `${ck.dir}: has no tokenizer.json; AutoTokenizer needs one (train with \`rlhf train sft\`, or copy the ` +
        `tokenizer.json it was trained with into the directory)`,
    );
  }
  const score = ck.heads.get('score');
  if (kind === 'reward' && !score) {
    throw new Error(
      `${ck.dir}: --kind reward needs a reward model (a "score" head, from \`rlhf train reward\`); this ` +
        `checkpoint has ${ck.heads.size ? `heads ${[...ck.heads.keys()].join(', ')}` : 'no head'}`,
    );
  }
  const cfg = ck.model.config;
  const C = cfg.nEmbd;
  const tokVocab = ck.tokenizer.vocabSize;
  let vocabSize = cfg.vocabSize;
  let padTokenId: number | null = null;
  if (kind === 'reward') {
    padTokenId = tokVocab < vocabSize ? tokVocab : vocabSize;
    if (padTokenId === vocabSize) vocabSize += 1;
  }

  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  // The tensors with a row per token: the embedding, and a separate lm_head (which a reward model has not).
  const vocabRows = new Set([tokenEmbeddingName(cfg), LM_HEAD]);
  for (const p of ck.model.params) {
    if (kind === 'reward' && p.name === LM_HEAD) continue;
    let data = p.data;
    let shape = [...p.shape];
    if (vocabRows.has(p.name) && vocabSize !== cfg.vocabSize) {
      // The pad token's row: zeros, never read (padding is masked and the score is read before it).
      data = new Float32Array(vocabSize * C);
      data.set(p.data);
      shape = [vocabSize, C];
    }
    tensors[p.name] = { shape, data };
  }
  if (kind === 'reward') tensors['score.weight'] = { shape: [1, C], data: score!.weight.data };
  const dropped = [...ck.heads.keys()].filter((h) => !(kind === 'reward' && h === 'score'));

  mkdirSync(outDir, { recursive: true });
  const weights = writeModelTensors(outDir, tensors, {
    dtype: SAFETENSORS_DTYPE[dtype],
    maxShardBytes: opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES,
  });

  const rlhf = {
    ...ck.meta,
    heads: kind === 'reward' ? ['score'] : [],
    exportedFrom: resolve(ck.dir),
    exportedAs: kind,
  };
  const extra: Record<string, unknown> = { torch_dtype: dtype, rlhf };
  if (kind === 'reward') {
    Object.assign(extra, {
      architectures: [sequenceClassificationArchitecture(cfg)],
      num_labels: 1,
      id2label: { 0: 'LABEL_0' },
      label2id: { LABEL_0: 0 },
      pad_token_id: padTokenId,
      // OpenRLHF: the head's name, and (with --normalize_reward) reward = (score − mean) / std,
      // which with our centering bias as the mean gives the rewards `rlhf score` prints.
      value_head_prefix: 'score',
      mean: typeof ck.meta.rewardBias === 'number' ? ck.meta.rewardBias : 0,
      std: 1,
    });
  }
  const hfConfig = toHFConfig({ ...cfg, vocabSize }, extra);
  writeFileAtomic(join(outDir, 'config.json'), JSON.stringify(hfConfig, null, 2) + '\n');
  const files = [...weights.files, 'config.json'];
  if (kind === 'policy') {
    writeFileAtomic(join(outDir, 'generation_config.json'), JSON.stringify(generationConfig(cfg), null, 2) + '\n');
    files.push('generation_config.json');
  }
  const tok = writeHFTokenizer(outDir, ck.tokenizer, {
    modelMaxLength: cfg.nPositions,
    padId: padTokenId ?? undefined,
  });
  files.push(...tok.files);

  const warnings: string[] = [];
  const headSize = headDimOf(cfg);
  if (!VLLM_HEAD_SIZES.includes(headSize)) {
    const gpt2 = familyOf(cfg) === 'gpt2';
    warnings.push(
      `head size ${headSize} (${gpt2 ? `n_embd ${C} / n_head ${cfg.nHead}` : 'head_dim'}) is not one vLLM's ` +
        `attention kernels take (${VLLM_HEAD_SIZES.join(', ')}); ` +
        'transformers loads it, but vLLM (TRL --use_vllm, OpenRLHF --vllm_num_engines) refuses it. For GPU ' +
        (gpt2
          ? 'runs, train with a head size of 64 (e.g. --preset medium)'
          : 'runs, start from a checkpoint whose head_dim is one of these'),
    );
  }
  return {
    kind,
    architecture: (hfConfig.architectures as string[])[0],
    dtype,
    dir: outDir,
    files,
    // A reward export leaves a separate lm_head out.
    parameters:
      countParameters(cfg) -
      (kind === 'reward' && !cfg.tieWordEmbeddings && familyOf(cfg) !== 'gpt2' ? cfg.vocabSize * C : 0),
    vocabSize,
    padTokenId,
    dropped,
    warnings,
  };
}

/**
 * generation_config.json as transformers derives it from config.json (_from_model_config): GPT-2's
 * <|endoftext|> as both bos and eos; the Llama family's bos (when it has one) and every eos id.
 */
function generationConfig(cfg: ModelConfig): Record<string, unknown> {
  if (familyOf(cfg) === 'gpt2')
    return { _from_model_config: true, bos_token_id: cfg.eosTokenId, eos_token_id: cfg.eosTokenId };
  const eos = cfg.eosTokenIds && cfg.eosTokenIds.length > 1 ? cfg.eosTokenIds : cfg.eosTokenId;
  return {
    _from_model_config: true,
    ...(cfg.bosTokenId !== undefined ? { bos_token_id: cfg.bosTokenId } : {}),
    eos_token_id: eos,
  };
}
