// Shared set-up of the trainers' tests (not a test itself): a tiny policy that writes random
// letters a–e, so that a known reward ("more a") has something to move.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RNG } from '../engine/rng.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import { type ModelConfig, type ModelFamily, paddedVocabSize } from '../model/config.js';
import { ChatTemplate } from '../model/chat-template.js';
import { createModel } from '../model/create-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { defaultSFTConfig } from './sft-config.js';
import { trainSFT } from './sft.js';

/** The families a test model can be made of: GPT-2 (the tiny preset), and tiny Llama-family checkpoints. */
export type TestFamily = 'gpt2' | Exclude<ModelFamily, 'gpt2'>;

/**
 * Tiny Llama-family shapes (a few thousand parameters, trains in seconds): Llama with grouped-query attention
 * (4 query heads on 2 key/value heads) and a separate lm_head; Qwen2 with its q/k/v biases and tied
 * embeddings; Qwen3 with per-head q/k norms and a head width (16) that is not hidden_size / heads (8).
 */
export const TINY_FAMILY_CONFIGS: Record<
  Exclude<ModelFamily, 'gpt2'>,
  Omit<ModelConfig, 'vocabSize' | 'eosTokenId'>
> = {
  llama: {
    family: 'llama',
    nPositions: 64,
    nEmbd: 32,
    nHead: 4,
    nKvHead: 2,
    nLayer: 2,
    intermediateSize: 64,
    layerNormEps: 1e-6,
  },
  qwen2: {
    family: 'qwen2',
    nPositions: 64,
    nEmbd: 32,
    nHead: 4,
    nKvHead: 2,
    nLayer: 2,
    intermediateSize: 64,
    layerNormEps: 1e-6,
    ropeTheta: 1e6,
    tieWordEmbeddings: true,
  },
  qwen3: {
    family: 'qwen3',
    nPositions: 64,
    nEmbd: 32,
    nHead: 4,
    nKvHead: 2,
    headDim: 16,
    nLayer: 2,
    intermediateSize: 64,
    layerNormEps: 1e-6,
    ropeTheta: 1e6,
    tieWordEmbeddings: true,
  },
};

/**
 * A random checkpoint of a Llama-family shape in Hugging Face's layout (config.json, model.safetensors,
 * tokenizer.json), as a user's downloaded model directory is: the tokenizer is the project's byte-level BPE
 * trained on `texts`, and the config's eos_token_id is its end-of-text id.
 */
export function familyCheckpoint(
  family: Exclude<ModelFamily, 'gpt2'>,
  opts: { texts?: string[]; vocabSize?: number; seed?: number; dir?: string } = {},
): string {
  const dir = opts.dir ?? join(mkdtempSync(join(tmpdir(), `rlhf-${family}-`)), 'base');
  const tok = Tokenizer.train(opts.texts ?? ['a b c d e', 'the quick brown fox'], { vocabSize: opts.vocabSize ?? 262 });
  const config: ModelConfig = {
    ...TINY_FAMILY_CONFIGS[family],
    vocabSize: paddedVocabSize(tok.vocabSize),
    eosTokenId: tok.eosId,
  };
  saveCheckpoint(dir, createModel(config, opts.seed ?? 7), { tokenizer: tok });
  return dir;
}

/** Checkpoints letterPolicy made in this process, by steps and family: the same training gives the same weights. */
const letterDirs = new Map<string, string>();

/**
 * A quick SFT on space-separated random letters; `dir` is its checkpoint (made once per process for each steps
 * and family; read it, do not write into it) and `model` a fresh copy of it. GPT-2 starts from the tiny preset,
 * the Llama families from a random checkpoint of their tiny shape (familyCheckpoint).
 */
export function letterPolicy(
  steps = 60,
  family: TestFamily = 'gpt2',
): { dir: string; model: CausalLM; tok: Tokenizer } {
  const key = `${steps}/${family}`;
  const dir = letterDirs.get(key) ?? trainLetters(steps, family);
  letterDirs.set(key, dir);
  const ck = loadCheckpoint(dir);
  return { dir, model: ck.model, tok: ck.tokenizer! };
}

function trainLetters(steps: number, family: TestFamily): string {
  const root = mkdtempSync(join(tmpdir(), 'rlhf-letters-'));
  const rng = new RNG(2);
  const letters = Array.from({ length: 3000 }, () => 'abcde'[rng.int(5)]).join(' ');
  writeFileSync(join(root, 'letters.txt'), letters);
  const dir = join(root, 'sft');
  trainSFT(
    {
      ...defaultSFTConfig,
      data: join(root, 'letters.txt'),
      outDir: dir,
      preset: 'tiny',
      vocabSize: 262,
      contextLength: 32,
      batchSize: 16,
      steps,
      lr: 1e-2,
      warmupSteps: 5,
      evalEvery: 0,
      quiet: true,
      init: family === 'gpt2' ? undefined : familyCheckpoint(family, { texts: [letters], dir: join(root, 'base') }),
    },
    () => {},
  );
  return dir;
}

/** Reward of the tests: the number of "a" in the completion. */
export const countA = (items: { completion: string }[]) => items.map((it) => (it.completion.match(/a/g) ?? []).length);

/** ChatML, the template of the tests of conversations (its end of turn: <|im_end|>). */
export const CHATML_TEMPLATE = new ChatTemplate(
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  { source: 'chatml.jinja', eosToken: '<|endoftext|>' },
);

/** A 300-token tokenizer trained on `text`, with ChatML's special tokens. */
export function chatmlTokenizer(text: string): Tokenizer {
  return Tokenizer.train([text], { vocabSize: 300, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] });
}
