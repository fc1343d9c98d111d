// The tokenizer files of a Hugging Face GPT-2 checkpoint, as `save_pretrained` writes them, so
// `AutoTokenizer.from_pretrained(dir)` gives a GPT2TokenizerFast (from tokenizer.json) and the
// slow GPT2Tokenizer (from vocab.json + merges.txt) the same ids as ours.
//
//   tokenizer.json           our tokenizer (model/tokenizer/formats.ts), plus the pad token if any
//   vocab.json, merges.txt   GPT-2's original two files (the same format as encoder.json/vocab.bpe)
//   added_tokens.json        added tokens outside vocab.json (the pad token), for the slow tokenizer
//   tokenizer_config.json    tokenizer_class, special tokens, model_max_length, chat_template
//   special_tokens_map.json  bos/eos/unk (GPT-2 uses <|endoftext|> for all three), pad
//
// The chat template renders messages in the HH layout our chat reader uses (data/formats/chat.ts),
// so `apply_chat_template` on exported conversational data gives back the texts we trained on.

import { join } from 'node:path';
import { writeFileAtomic } from '../model/checkpoint.js';
import { Tokenizer } from '../model/tokenizer/index.js';

export const PAD_TOKEN = '<|pad|>';

/**
 * Jinja, as transformers runs it (trim_blocks, lstrip_blocks). User turns are "\n\nHuman: …",
 * assistant turns "\n\nAssistant: …", system turns "\n\nSystem: …"; the generation prompt is
 * "\n\nAssistant:". The backslash escapes are Jinja string escapes, kept as text here.
 */
export const CHAT_TEMPLATE =
  '{% for message in messages %}' +
  String.raw`{% if message['role'] == 'user' %}{{ '\n\nHuman: ' + message['content'] }}` +
  String.raw`{% elif message['role'] == 'assistant' %}{{ '\n\nAssistant: ' + message['content'] }}` +
  String.raw`{% elif message['role'] == 'system' %}{{ '\n\nSystem: ' + message['content'] }}` +
  "{% else %}{{ raise_exception('roles are user, assistant and system, got ' + message['role']) }}" +
  String.raw`{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '\n\nAssistant:' }}{% endif %}`;

interface TokenizerJson {
  added_tokens: { id: number; content: string; special: boolean; [k: string]: unknown }[];
  model: { vocab: Record<string, number>; merges: string[] };
}

export interface TokenizerExport {
  /** Files written, relative to the directory. */
  files: string[];
  eosToken: string;
  padToken: string | null;
}

function writeJson(path: string, obj: unknown): void {
  writeFileAtomic(path, JSON.stringify(obj, null, 2) + '\n');
}

/**
 * Writes the tokenizer files into dir. With padId, a "<|pad|>" special token gets that id
 * (the caller guarantees the model has an embedding row for it).
 */
export function writeHFTokenizer(
  dir: string,
  tok: Tokenizer,
  opts: { modelMaxLength: number; padId?: number },
): TokenizerExport {
  if (tok.hfConfig) return writeOriginalTokenizer(dir, tok, tok.hfConfig, opts);
  const json = tok.toJSON() as TokenizerJson;
  const eosToken =
    json.added_tokens.find((t) => t.id === tok.eosId)?.content ??
    Object.keys(json.model.vocab).find((k) => json.model.vocab[k] === tok.eosId);
  if (eosToken === undefined) throw new Error(`tokenizer: no token has the end-of-text id ${tok.eosId}`);
  let padToken: string | null = null;
  if (opts.padId !== undefined) {
    padToken = PAD_TOKEN;
    if (json.added_tokens.some((t) => t.content === PAD_TOKEN) || PAD_TOKEN in json.model.vocab) {
      throw new Error(`tokenizer: already has a "${PAD_TOKEN}" token; export it without adding one`);
    }
    json.added_tokens.push({
      id: opts.padId,
      content: PAD_TOKEN,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    });
  }
  const files = ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'];
  writeJson(join(dir, 'tokenizer.json'), json);
  writeJson(join(dir, 'vocab.json'), json.model.vocab);
  // GPT-2's merges.txt starts with a version line, which both readers skip.
  writeFileAtomic(join(dir, 'merges.txt'), ['#version: 0.2', ...json.model.merges].join('\n') + '\n');
  const outside = json.added_tokens.filter((t) => !(t.content in json.model.vocab));
  if (outside.length) {
    writeJson(join(dir, 'added_tokens.json'), Object.fromEntries(outside.map((t) => [t.content, t.id])));
    files.push('added_tokens.json');
  }
  const extra = json.added_tokens.filter((t) => t.content !== eosToken && t.content !== padToken).map((t) => t.content);
  writeJson(join(dir, 'tokenizer_config.json'), {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(
      json.added_tokens.map((t) => [
        String(t.id),
        {
          content: t.content,
          lstrip: false,
          normalized: false,
          rstrip: false,
          single_word: false,
          special: true,
        },
      ]),
    ),
    ...(extra.length ? { additional_special_tokens: extra } : {}),
    bos_token: eosToken,
    chat_template: CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: eosToken,
    errors: 'replace',
    model_max_length: opts.modelMaxLength,
    pad_token: padToken,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: eosToken,
  });
  writeJson(join(dir, 'special_tokens_map.json'), {
    ...(extra.length ? { additional_special_tokens: extra } : {}),
    bos_token: eosToken,
    eos_token: eosToken,
    ...(padToken ? { pad_token: padToken } : {}),
    unk_token: eosToken,
  });
  return { files, eosToken, padToken };
}

/**
 * A downloaded model's tokenizer (Llama, Qwen, SmolLM2, …: it came with a tokenizer_config.json): its own
 * tokenizer.json and tokenizer_config.json written back as they were, so AutoTokenizer gives the same
 * class, template and special tokens; only a reward export's pad token is added (to both files and to
 * special_tokens_map.json).
 */
function writeOriginalTokenizer(
  dir: string,
  tok: Tokenizer,
  hfConfig: Record<string, unknown>,
  opts: { padId?: number },
): TokenizerExport {
  const json = structuredClone(tok.toJSON()) as { added_tokens?: Record<string, unknown>[] };
  const config: Record<string, unknown> = structuredClone(hfConfig);
  const tokenText = (v: unknown): string | null =>
    typeof v === 'string' ? v : v && typeof v === 'object' && 'content' in v ? String(v.content) : null;
  const eosToken = tok.idToToken(tok.eosId) ?? tokenText(config.eos_token);
  if (eosToken === null) throw new Error(`tokenizer: no token has the end-of-text id ${tok.eosId}`);
  let padToken: string | null = tokenText(config.pad_token);
  if (opts.padId !== undefined) {
    if (tok.tokenToId(PAD_TOKEN) !== undefined)
      throw new Error(`tokenizer: already has a "${PAD_TOKEN}" token; export it without adding one`);
    padToken = PAD_TOKEN;
    const entry = { content: PAD_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: false };
    json.added_tokens = [...(json.added_tokens ?? []), { id: opts.padId, ...entry, special: true }];
    config.added_tokens_decoder = {
      ...((config.added_tokens_decoder as Record<string, unknown>) ?? {}),
      [String(opts.padId)]: { ...entry, special: true },
    };
    config.pad_token = PAD_TOKEN;
  }
  writeJson(join(dir, 'tokenizer.json'), json);
  writeJson(join(dir, 'tokenizer_config.json'), config);
  const special: Record<string, unknown> = {};
  for (const k of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'additional_special_tokens'])
    if (config[k] !== undefined && config[k] !== null) special[k] = config[k];
  writeJson(join(dir, 'special_tokens_map.json'), special);
  return { files: ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'], eosToken, padToken };
}
