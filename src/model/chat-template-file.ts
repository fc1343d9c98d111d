// Finding, reading and writing a model's chat template on disk, where Hugging Face keeps it: "chat_template"
// in tokenizer_config.json, or chat_template.jinja beside it (what transformers ≥ 4.43 writes), or a
// .jinja file given with --chat-template.

import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ChatTemplate, configTokens } from './chat-template.js';
import { isAdapterDir, readAdapterConfig } from './peft.js';

export const TOKENIZER_CONFIG = 'tokenizer_config.json';
export const TEMPLATE_FILE = 'chat_template.jinja';

/** Tokens a bare .jinja template is rendered with when no tokenizer_config.json names them. */
export interface TemplateTokens {
  bosToken?: string | null;
  eosToken?: string | null;
  specialTokens?: readonly string[];
}

function readJsonObject(path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read it as JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Error(`${path}: must be a JSON object (a tokenizer_config.json)`);
  return v as Record<string, unknown>;
}

/** A .jinja template with the tokens of the tokenizer_config.json beside it (when given), else `tokens`. */
function fromJinja(path: string, cfg: Record<string, unknown> | null, tokens: TemplateTokens): ChatTemplate {
  const own = cfg ? configTokens(cfg, path) : null;
  return new ChatTemplate(readFileSync(path, 'utf8'), {
    source: path,
    bosToken: own?.bosToken ?? tokens.bosToken,
    eosToken: own?.eosToken ?? tokens.eosToken,
    specialTokens: [...(own?.specialTokens ?? []), ...(tokens.specialTokens ?? [])],
  });
}

/**
 * The chat template of a model directory: tokenizer_config.json's "chat_template", else chat_template.jinja;
 * null when there is neither. `tokens.specialTokens` (the tokenizer's) are added to the config's own.
 */
export function findChatTemplate(dir: string, tokens: TemplateTokens = {}): ChatTemplate | null {
  const cfgPath = join(dir, TOKENIZER_CONFIG);
  const cfg = existsSync(cfgPath) ? readJsonObject(cfgPath) : null;
  if (cfg && cfg.chat_template !== undefined && cfg.chat_template !== null) {
    const t = ChatTemplate.fromTokenizerConfig(cfg, cfgPath)!;
    if (!tokens.specialTokens?.length) return t;
    const specialTokens = [...t.specialTokens, ...tokens.specialTokens];
    return new ChatTemplate(t.text, { source: cfgPath, bosToken: t.bosToken, eosToken: t.eosToken, specialTokens });
  }
  const jinja = join(dir, TEMPLATE_FILE);
  return existsSync(jinja) ? fromJinja(jinja, cfg, tokens) : null;
}

/**
 * A template given by path (--chat-template): a .jinja file, a tokenizer_config.json, or a directory holding
 * either. A bare .jinja takes bos/eos from a tokenizer_config.json beside it, else from `tokens`.
 */
export function loadChatTemplate(path: string, tokens: TemplateTokens = {}): ChatTemplate {
  if (!existsSync(path)) throw new Error(`--chat-template: ${path} does not exist`);
  if (statSync(path).isDirectory()) {
    const t = findChatTemplate(path, tokens);
    if (!t)
      throw new Error(
        `--chat-template: ${path} has neither ${TOKENIZER_CONFIG} with "chat_template" nor ${TEMPLATE_FILE}`,
      );
    return t;
  }
  if (path.endsWith('.json')) {
    const t = ChatTemplate.fromTokenizerConfig(readJsonObject(path), path);
    if (!t) throw new Error(`--chat-template: ${path} has no "chat_template"`);
    return t;
  }
  const beside = join(dirname(path), TOKENIZER_CONFIG);
  return fromJinja(path, existsSync(beside) ? readJsonObject(beside) : null, tokens);
}

/**
 * Writes the template into dir/tokenizer_config.json (kept, if one is there, with its other fields), so the
 * checkpoint carries it as a Hugging Face model does. Atomic, as the checkpoint's other files.
 */
export function saveChatTemplate(dir: string, template: ChatTemplate): void {
  const path = join(dir, TOKENIZER_CONFIG);
  const cfg = existsSync(path) ? readJsonObject(path) : {};
  cfg.chat_template = template.text;
  if (template.bosToken && cfg.bos_token === undefined) cfg.bos_token = template.bosToken;
  if (template.eosToken && cfg.eos_token === undefined) cfg.eos_token = template.eosToken;
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(cfg, null, 2) + '\n');
  renameSync(tmp, path);
}

/** What a bare template needs of the model's tokenizer: its EOS string and special tokens. */
export function tokenizerTokens(tok: {
  eosId: number;
  specialTokens: readonly string[];
  idToToken(id: number): string | undefined;
}): TemplateTokens {
  return { eosToken: tok.idToToken(tok.eosId) ?? null, specialTokens: tok.specialTokens };
}

/**
 * The template a command uses: the one given (--chat-template), else the first model directory (or the
 * directory of a tokenizer.json) that has one; null when none has.
 */
export function resolveChatTemplate(
  given: string | undefined,
  places: readonly (string | undefined)[],
  tokens: TemplateTokens = {},
): ChatTemplate | null {
  if (given) return loadChatTemplate(given, tokens);
  for (const p of places) {
    if (!p || !existsSync(p)) continue;
    const t = findChatTemplate(statSync(p).isDirectory() ? p : dirname(p), tokens);
    if (t) return t;
    // A LoRA adapter without a template of its own (as PEFT saves one) uses its base model's.
    if (isAdapterDir(p)) return resolveChatTemplate(undefined, [readAdapterConfig(p).baseModel], tokens);
  }
  return null;
}
