// The Tokenizer every part of the project uses, whatever the tokenizer's origin:
//   - trained here (Tokenizer.train), and byte-level BPE files (GPT-2, SmolLM2, Llama 3, Qwen2/3): our
//     encoder (bpe-backend.ts, own-pipeline.ts), 5-12x faster than @huggingface/tokenizers with the same ids
//     (docs/formats.md#tokenizers);
//   - any other Hugging Face tokenizer.json (Llama 2, Mistral, TinyLlama: SentencePiece-style BPE):
//     @huggingface/tokenizers (hf-backend.ts), Hugging Face's own JavaScript implementation.
// A tokenizer.json that our JSON would not describe (a normalizer, a split regex, a BOS) is saved back
// unchanged.
// tokenizer_config.json beside tokenizer.json, when present, names the end-of-sequence, beginning and pad
// tokens, and is kept whole as `hfConfig` (chat templates read it).

import { existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TokenizerBackend } from './backend.js';
import { BPEBackend } from './bpe-backend.js';
import { parseGPT2Files, parseTokenizerJson } from './formats.js';
import { checkComponents, HFBackend } from './hf-backend.js';
import { CONFIG_FILE, configTokenId, type HFConfig, modelMaxLength, readHFConfig } from './hf-config.js';
import { planOwnPipeline } from './own-pipeline.js';
import { trainBPE, type TrainOptions } from './train.js';

export type { TrainOptions, TrainProgress } from './train.js';

export interface EncodeOptions {
  /**
   * Encode special tokens written in the text (e.g. "<|endoftext|>", "<|im_start|>") as their single id.
   * Default false: they are encoded as ordinary text, so text from users or datasets cannot
   * smuggle in an end-of-text marker; append `eosId` yourself where a document ends.
   * (Added tokens that a tokenizer.json marks as not special, such as Qwen's "<think>", are always
   * matched, as Hugging Face does.)
   */
  allowSpecial?: boolean;
  /**
   * Add what the tokenizer.json post-processor adds around a sequence: Llama 2's "<s>", Llama 3.1's
   * "<|begin_of_text|>" (nothing for GPT-2 or Qwen). Default false, unlike transformers: encode is
   * called on pieces (prompt, completion) that are joined later, and chat templates write the BOS
   * themselves. Set it where a whole sequence starts, or prepend `bosId`.
   */
  addSpecialTokens?: boolean;
}

export const EOS_TOKEN = '<|endoftext|>';
/** End-of-sequence tokens looked for, in order, when tokenizer_config.json does not name one. */
const EOS_FALLBACKS = [EOS_TOKEN, '<|end_of_text|>', '</s>'];

export class Tokenizer {
  /** 1 + the largest id, added tokens included: the size an embedding table needs at least. */
  readonly vocabSize: number;
  /**
   * tokenizer_config.json's eos_token; else the first of "<|endoftext|>", "<|end_of_text|>", "</s>" the
   * vocabulary has; else the first special token.
   */
  readonly eosId: number;
  /** tokenizer_config.json's bos_token; else the first token the post-processor adds; else null. */
  readonly bosId: number | null;
  /** tokenizer_config.json's pad_token, or null. */
  readonly padId: number | null;
  /** tokenizer_config.json's model_max_length, or null when absent or unlimited (1e30). */
  readonly modelMaxLength: number | null;
  /** Special tokens, in their order in the file (or in TrainOptions). */
  readonly specialTokens: readonly string[];
  /** tokenizer_config.json as read (chat_template, add_bos_token…), or null without one. */
  readonly hfConfig: HFConfig | null;
  /** Which encoder runs: ours ('bpe') or @huggingface/tokenizers ('huggingface'). */
  readonly backend: 'bpe' | 'huggingface';

  private readonly impl: TokenizerBackend;

  private constructor(impl: TokenizerBackend, source: string, hfConfig: HFConfig | null) {
    this.impl = impl;
    this.backend = impl.kind;
    this.hfConfig = hfConfig;
    this.vocabSize = impl.vocabSize;
    this.specialTokens = impl.addedTokens.filter((t) => t.special).map((t) => t.content);
    const configSource = `${CONFIG_FILE} (beside ${source})`;
    const idOf = (field: string) =>
      hfConfig ? configTokenId(hfConfig, field, configSource, (t) => impl.tokenToId(t)) : undefined;
    this.bosId = idOf('bos_token') ?? impl.prefixIds[0] ?? null;
    this.padId = idOf('pad_token') ?? null;
    this.modelMaxLength = modelMaxLength(hfConfig);
    const eos =
      idOf('eos_token') ??
      EOS_FALLBACKS.map((t) => impl.tokenToId(t)).find((id) => id !== undefined) ??
      impl.addedTokens.find((t) => t.special)?.id;
    if (eos === undefined) {
      throw new Error(
        `${source}: no "${EOS_TOKEN}" and no special tokens, so there is no eosId; ` +
          `add {"id": ${this.vocabSize}, "content": "${EOS_TOKEN}", "special": true} to added_tokens`,
      );
    }
    this.eosId = eos;
  }

  // ---- construction ----

  /** Learns a vocabulary from texts. See TrainOptions for the id layout and options. */
  static train(texts: Iterable<string>, opts: TrainOptions): Tokenizer {
    const { tokens, merges, specialTokens } = trainBPE(texts, opts);
    const vocab = new Map<string, number>();
    tokens.forEach((t, id) => {
      if (!vocab.has(t)) vocab.set(t, id);
    });
    const specials = specialTokens.map((content, id) => ({ content, id }));
    return new Tokenizer(new BPEBackend({ vocab, merges, specials }, 'train'), 'train', null);
  }

  /**
   * From a parsed tokenizer.json; `source` (the file name) is used in error messages, `config` is the
   * parsed tokenizer_config.json if there is one.
   */
  static fromTokenizerJson(json: unknown, source = 'tokenizer.json', config: HFConfig | null = null): Tokenizer {
    return Tokenizer.fromJson(json, null, source, config);
  }

  private static fromJson(json: unknown, text: string | null, source: string, config: HFConfig | null): Tokenizer {
    const parts = parseTokenizerJson(json, source);
    const obj = json as Record<string, unknown>;
    checkComponents(obj, source);
    const plan = planOwnPipeline(obj, config);
    if (typeof plan === 'string')
      return new Tokenizer(new HFBackend(obj, text ?? JSON.stringify(obj), source, config), source, config);
    const added = ((obj.added_tokens ?? []) as { id: number; content: string; special?: unknown }[]).map((t) => ({
      id: t.id,
      content: t.content,
      special: t.special === true,
    }));
    // GPT-2's pipeline with special tokens only is what toJSON writes; anything more is saved as read.
    const gpt2Like =
      plan.normalize === null &&
      plan.split === null &&
      plan.gpt2Regex &&
      !plan.ignoreMerges &&
      plan.prefix.length + plan.suffix.length === 0 &&
      added.every((t) => t.special);
    const keep = gpt2Like ? null : (text ?? JSON.stringify(obj));
    return new Tokenizer(new BPEBackend(parts, source, plan, added, keep), source, config);
  }

  /** From GPT-2's own encoder.json + vocab.bpe; gives GPT-2's exact ids (eosId 50256). */
  static fromGPT2Files(encoderJsonPath: string, vocabBpePath: string): Tokenizer {
    const parts = parseGPT2Files(readText(encoderJsonPath), readText(vocabBpePath), encoderJsonPath, vocabBpePath);
    return new Tokenizer(new BPEBackend(parts, encoderJsonPath), encoderJsonPath, null);
  }

  /**
   * Loads a tokenizer.json file, a directory containing tokenizer.json, or a directory with
   * GPT-2's encoder.json + vocab.bpe. A tokenizer_config.json beside tokenizer.json is read too.
   */
  static load(path: string): Tokenizer {
    if (!existsSync(path)) throw new Error(`Tokenizer.load: ${path} does not exist`);
    if (statSync(path).isDirectory()) {
      const json = join(path, 'tokenizer.json');
      if (existsSync(json)) return Tokenizer.load(json);
      const enc = join(path, 'encoder.json');
      const bpe = join(path, 'vocab.bpe');
      if (existsSync(enc) && existsSync(bpe)) return Tokenizer.fromGPT2Files(enc, bpe);
      throw new Error(
        `Tokenizer.load: ${path} has neither tokenizer.json nor encoder.json + vocab.bpe; ` +
          'pass a tokenizer.json file or a directory holding one',
      );
    }
    const text = readText(path);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
    }
    const configPath = join(dirname(path), CONFIG_FILE);
    const config = existsSync(configPath) ? readHFConfig(configPath) : null;
    return Tokenizer.fromJson(json, text, path, config);
  }

  // ---- saving ----

  /**
   * The Hugging Face tokenizer.json object (what `save` writes): the file as loaded for tokenizers that
   * run on @huggingface/tokenizers, else built from our vocabulary and merges.
   */
  toJSON(): object {
    return this.impl.toJSON();
  }

  /**
   * Writes tokenizer.json to `path` (a file path; an existing directory gets path/tokenizer.json), and
   * tokenizer_config.json beside it when the tokenizer was loaded with one. Atomic: a temp file in the
   * same directory is renamed over the target, so a crash never leaves a half-written tokenizer behind.
   */
  save(path: string): void {
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'tokenizer.json');
    mkdirSync(dirname(path), { recursive: true });
    writeAtomic(path, this.impl.sourceText ?? JSON.stringify(this.toJSON(), null, 2) + '\n');
    if (this.hfConfig) writeAtomic(join(dirname(path), CONFIG_FILE), JSON.stringify(this.hfConfig, null, 2) + '\n');
  }

  // ---- encode / decode ----

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.impl.encode(text, opts.allowSpecial === true, opts.addSpecialTokens === true);
  }

  /**
   * Ids to text, special tokens included as their text. Never throws: byte sequences that are not
   * valid UTF-8 (e.g. a multi-byte character cut between two samples) and unknown ids (e.g. from a
   * model whose embedding table is padded past vocabSize) both become U+FFFD.
   */
  decode(ids: ArrayLike<number>): string {
    return this.impl.decode(ids);
  }

  /** The token's string: byte-level characters ("Ġthe") for ordinary tokens, raw text for specials. */
  idToToken(id: number): string | undefined {
    return this.impl.idToToken(id);
  }

  tokenToId(tok: string): number | undefined {
    return this.impl.tokenToId(tok);
  }
}

function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw e;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}
