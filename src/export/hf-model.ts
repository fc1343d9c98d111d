// A checkpoint in the layout Hugging Face `transformers` loads and GPU trainers start from:
//
//   policy  GPT2LMHeadModel (AutoModelForCausalLM): TRL's DPO/PPO/RLOO/SFT, OpenRLHF's --pretrain,
//           vLLM (which lists GPT2LMHeadModel among its supported architectures).
//   reward  GPT2ForSequenceClassification (AutoModelForSequenceClassification, num_labels 1): the
//           trunk under "transformer." and the head as "score.weight" (1, C), no bias. That is
//           the head TRL's RewardTrainer and PPO scripts load, and the one OpenRLHF's reward model
//           class builds with --value_head_prefix score (its default; openrlhf/models/model.py
//           creates getattr(base_model_prefix) + nn.Linear(hidden, 1, bias=False) named by it).
//
// Our checkpoints already use GPT-2's tensor names (model/checkpoint.ts); this writes only what a
// loader of that kind expects (no PPO value head, no optimizer state), in float32, bfloat16 or
// float16, sharded above a size as save_pretrained shards, with the tokenizer files (hf-tokenizer.ts).
//
// NOTE: a reward model reads its score at the <|endoftext|> token that ends prompt + completion
// (model/reward-model.ts). GPT2ForSequenceClassification reads the last token that is not padding,
// so padding must not be <|endoftext|>: a reward export gets its own "<|pad|>" token, on a spare
// embedding row when the vocabulary has one, else on a new zero row (the LM head is unused).

import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Checkpoint, writeFileAtomic } from '../model/checkpoint.js';
import { countParameters } from '../model/config.js';
import { toHFConfig } from '../model/hf-config.js';
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
  for (const p of ck.model.params) {
    let data = p.data;
    let shape = [...p.shape];
    if (p.name === 'transformer.wte.weight' && vocabSize !== cfg.vocabSize) {
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
      architectures: ['GPT2ForSequenceClassification'],
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
  writeFileAtomic(
    join(outDir, 'config.json'),
    JSON.stringify(toHFConfig({ ...cfg, vocabSize }, extra), null, 2) + '\n',
  );
  const files = [...weights.files, 'config.json'];
  if (kind === 'policy') {
    writeFileAtomic(
      join(outDir, 'generation_config.json'),
      JSON.stringify(
        { _from_model_config: true, bos_token_id: cfg.eosTokenId, eos_token_id: cfg.eosTokenId },
        null,
        2,
      ) + '\n',
    );
    files.push('generation_config.json');
  }
  const tok = writeHFTokenizer(outDir, ck.tokenizer, {
    modelMaxLength: cfg.nPositions,
    padId: padTokenId ?? undefined,
  });
  files.push(...tok.files);

  const warnings: string[] = [];
  const headSize = C / cfg.nHead;
  if (!VLLM_HEAD_SIZES.includes(headSize)) {
    warnings.push(
      `head size ${headSize} (n_embd ${C} / n_head ${cfg.nHead}) is not one vLLM's attention kernels take ` +
        `(${VLLM_HEAD_SIZES.join(', ')}); ` +
        'transformers loads it, but vLLM (TRL --use_vllm, OpenRLHF --vllm_num_engines) refuses it. For GPU ' +
        'runs, train with a head size of 64 (e.g. --preset medium)',
    );
  }
  return {
    kind,
    dtype,
    dir: outDir,
    files,
    parameters: countParameters(cfg),
    vocabSize,
    padTokenId,
    dropped,
    warnings,
  };
}
