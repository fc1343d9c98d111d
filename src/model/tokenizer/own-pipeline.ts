// Which tokenizer.json files our byte-level BPE encoder runs, and the steps before its merges.
//
// Hugging Face encodes a piece of text between added tokens as: normalizer -> pre-tokenizer -> model.
// For byte-level BPE files the pre-tokenizer ends in ByteLevel (bytes to printable characters, with
// GPT-2's regex or without), possibly after a Split regex (Llama 3, Qwen2/3) or Digits (SmolLM2). We run the
// normalizer and the steps before ByteLevel with @huggingface/tokenizers' own components (so regexes
// translated from Oniguruma match exactly as there), then GPT-2's regex with our scanner and the merges
// with our cached encoder: 5-12x faster than @huggingface/tokenizers' BPE (docs/formats.md#tokenizers).
// Anything else (SentencePiece-style BPE with byte fallback, Metaspace, offsets-changing options) runs on
// @huggingface/tokenizers whole (hf-backend.ts).

import type { HFConfig } from './hf-config.js';
import { hfModule } from './hf-module.js';

export interface OwnPipeline {
  /** The file's normalizer (NFC for Qwen), or null. */
  normalize: ((text: string) => string) | null;
  /** The pre-tokenizers before ByteLevel (a Split regex, Digits), or null. */
  split: ((text: string) => string[]) | null;
  /** ByteLevel's use_regex: split pieces with GPT-2's pattern (else each piece is one word). */
  gpt2Regex: boolean;
  /** A word that is a token as a whole is that token, merges or not (Llama 3). */
  ignoreMerges: boolean;
  /** Tokens the post-processor puts before and after a sequence (addSpecialTokens). */
  prefix: string[];
  suffix: string[];
}

/** GPT-2's pipeline, which tokenizers trained here use. */
export const GPT2_PIPELINE: OwnPipeline = {
  normalize: null,
  split: null,
  gpt2Regex: true,
  ignoreMerges: false,
  prefix: [],
  suffix: [],
};

type Obj = Record<string, unknown>;
const isObject = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const show = (x: unknown) => {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
};

/** Pre-tokenizers that may come before ByteLevel: they split text and take no per-section options. */
const SPLITTERS = new Set(['Split', 'Digits', 'Punctuation']);

/**
 * The pipeline our encoder runs for this file, or why it cannot (a string naming the field).
 * `json` must have passed parseTokenizerJson and checkComponents.
 */
export function planOwnPipeline(json: Obj, config: HFConfig | null): OwnPipeline | string {
  const model = json.model as Obj;
  for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    const v = model[field];
    if (v !== undefined && v !== null && v !== '') return `model.${field} is ${show(v)}`;
  }
  if (model.byte_fallback === true) return 'model.byte_fallback is true';
  if (model.dropout !== undefined && model.dropout !== null) return `model.dropout is ${show(model.dropout)}`;
  for (const field of ['remove_space', 'do_lowercase_and_remove_accent'] as const) {
    if (config?.[field] === true) return `tokenizer_config.json sets ${field}`;
  }
  const dec = json.decoder;
  if (dec !== undefined && dec !== null && !(isObject(dec) && dec.type === 'ByteLevel')) {
    return `decoder is ${show(dec)}`;
  }
  const norm = json.normalizer ?? null;
  const added = (json.added_tokens ?? []) as Obj[];
  for (const [i, t] of added.entries()) {
    for (const flag of ['lstrip', 'rstrip', 'single_word'] as const) {
      if (t[flag] === true) return `added_tokens[${i}].${flag} is true`;
    }
    // Hugging Face matches such a token in normalized text; we match added tokens before normalizing.
    if (t.normalized === true && norm !== null) return `added_tokens[${i}].normalized is true, with a normalizer`;
  }

  const pre = json.pre_tokenizer;
  const steps = isObject(pre) && pre.type === 'Sequence' ? (pre.pretokenizers as Obj[]) : [pre as Obj];
  const byteLevel = steps.at(-1);
  if (!isObject(byteLevel) || byteLevel.type !== 'ByteLevel' || byteLevel.add_prefix_space === true) {
    return `pre_tokenizer is ${show(pre)}, which does not end in ByteLevel without add_prefix_space`;
  }
  const head = steps.slice(0, -1);
  const other = head.find((s) => !SPLITTERS.has(s.type as string));
  if (other) return `pre_tokenizer has ${show(other)} before ByteLevel`;

  const template = readTemplate(json.post_processor);
  if (typeof template === 'string') return template;
  const normalizer =
    norm === null ? null : new (hfModule().SequenceNormalizer)({ type: 'Sequence', normalizers: [norm] });
  const splitter =
    head.length === 0 ? null : new (hfModule().SequencePreTokenizer)({ type: 'Sequence', pretokenizers: head });
  return {
    normalize: normalizer && ((text: string) => normalizer.normalize(text)),
    split: splitter && ((text: string) => splitter.pre_tokenize_text(text)),
    gpt2Regex: byteLevel.use_regex !== false,
    ignoreMerges: model.ignore_merges === true,
    ...template,
  };
}

/**
 * The tokens a post-processor adds around one sequence: none for ByteLevel; TemplateProcessing's
 * SpecialTokens before and after "A" (Llama 3.1 wraps it in a Sequence after ByteLevel).
 */
function readTemplate(post: unknown): Pick<OwnPipeline, 'prefix' | 'suffix'> | string {
  const none = { prefix: [], suffix: [] };
  if (post === undefined || post === null) return none;
  const parts = isObject(post) && post.type === 'Sequence' ? (post.processors as unknown[]) : [post];
  let found = none as Pick<OwnPipeline, 'prefix' | 'suffix'>;
  for (const p of parts) {
    if (isObject(p) && p.type === 'ByteLevel') continue;
    if (!isObject(p) || p.type !== 'TemplateProcessing' || !Array.isArray(p.single) || found !== none) {
      return `post_processor is ${show(post)}`;
    }
    const prefix: string[] = [];
    const suffix: string[] = [];
    let seenA = false;
    for (const item of p.single as Obj[]) {
      const special = isObject(item?.SpecialToken) ? item.SpecialToken.id : undefined;
      if (typeof special === 'string') (seenA ? suffix : prefix).push(special);
      else if (isObject(item?.Sequence) && item.Sequence.id === 'A' && !seenA) seenA = true;
      else return `post_processor's single template has ${show(item)}`;
    }
    found = { prefix, suffix };
  }
  return found;
}
