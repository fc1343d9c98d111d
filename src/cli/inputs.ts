// Reading what commands take as input, with the problems reported the same way everywhere:
// unusable records as `file:line: field "x": message` (the first 10, then a count) on stderr.

import { parseDecodeDtype, setDecodeDtype } from '../engine/decode-weights.js';
import { Comparison } from '../data/comparison.js';
import { RecordIssue, formatIssue, readJsonl, stringField } from '../data/jsonl.js';
import { FormatName, readComparisons } from '../data/read-comparisons.js';
import { type UnpairedRow, readUnpaired } from '../data/read-unpaired.js';
import { type PromptCompletion, type PromptInput, parsePromptRecord } from '../data/text.js';
import type { ChatTemplate } from '../model/chat-template.js';
import { resolveChatTemplate, tokenizerTokens } from '../model/chat-template-file.js';
import { Checkpoint, loadCheckpoint } from '../model/checkpoint.js';
import { EOS_TOKEN, Tokenizer } from '../model/tokenizer/index.js';

function reportIssues(path: string, issues: RecordIssue[], lines: number): void {
  for (const i of issues.slice(0, 10)) process.stderr.write(`skipped ${formatIssue(i)}\n`);
  if (issues.length > 10) process.stderr.write(`… and ${issues.length - 10} more\n`);
  if (issues.length) process.stderr.write(`${path}: ${issues.length} of ${lines} records could not be used\n`);
}

/** Comparisons in any supported format. */
export function loadComparisons(path: string, format?: FormatName): Comparison[] {
  const r = readComparisons(path, { format });
  reportIssues(path, r.issues, r.lines);
  if (r.comparisons.length === 0) throw new Error(`${path}: no usable comparisons (format ${r.format})`);
  process.stderr.write(`${path}: ${r.comparisons.length} comparisons (format ${r.format})\n`);
  return r.comparisons;
}

/** Unpaired rows {"prompt", "completion", "label": true|false} (TRL's KTO format), each row alone. */
export function loadUnpaired(path: string): UnpairedRow[] {
  const r = readUnpaired(path);
  reportIssues(path, r.issues, r.lines);
  process.stderr.write(`${path}: ${r.rows.length} rows (${r.desirable} desirable, ${r.undesirable} undesirable)\n`);
  return r.rows;
}

/** A prompt with its record's other fields (e.g. "answer"), which rewards written as code are given. */
export interface PromptRow {
  prompt: string;
  columns: Record<string, unknown>;
}

/** Prompts from JSONL {"prompt": "text"}, or {"prompt": [messages]} (conversational) where `chat` is allowed. */
export function loadPrompts(path: string): string[];
export function loadPrompts(path: string, opts: { chat: true }): PromptInput[];
export function loadPrompts(path: string, opts: { chat?: boolean } = {}): PromptInput[] {
  return readPromptRecords(path, !!opts.chat).map((r) => r.prompt);
}

/**
 * Text prompts from JSONL {"prompt": "text", …}, each with its record's other fields; with `chat`, also
 * {"prompt": [messages], …} (conversational).
 */
export function loadPromptRows(path: string): PromptRow[];
export function loadPromptRows(path: string, opts: { chat: true }): PromptInputRow[];
export function loadPromptRows(path: string, opts: { chat?: boolean } = {}): PromptInputRow[] {
  return readPromptRecords(path, !!opts.chat);
}

/** A prompt row whose prompt may be a conversation. */
export type PromptInputRow = { prompt: PromptInput; columns: Record<string, unknown> };

function readPromptRecords(path: string, chat: boolean): PromptInputRow[] {
  let conversational = 0;
  const r = readJsonl(path, (obj, line) => {
    const prompt = parsePromptRecord(obj);
    if (Array.isArray(prompt)) conversational ||= line;
    const { prompt: _, ...columns } = obj;
    return { prompt, columns };
  });
  if (conversational && !chat)
    throw new Error(
      `${path}:${conversational}: "prompt" is a list of messages; this command takes text prompts ` +
        `({"prompt": "…"}); conversational prompts are sampled with \`rlhf sample --chat\``,
    );
  reportIssues(path, r.issues, r.lines);
  if (r.records.length === 0) throw new Error(`${path}: no prompts; give JSONL records {"prompt": "…"}`);
  return r.records;
}

/**
 * The columns of each prompt text, for trainers that pass rewards prompts only (see withPromptColumns).
 * NOTE: a prompt repeated with other fields is ambiguous; the first record's fields are kept, with a warning.
 */
export function columnsByPrompt(rows: PromptRow[], path: string): Map<string, Record<string, unknown>> {
  const map = new Map<string, Record<string, unknown>>();
  let clashes = 0;
  for (const r of rows) {
    const had = map.get(r.prompt);
    if (!had) map.set(r.prompt, r.columns);
    else if (JSON.stringify(had) !== JSON.stringify(r.columns)) clashes++;
  }
  if (clashes)
    process.stderr.write(
      `${path}: ${clashes} prompts repeat an earlier prompt with other fields; rewards see the first record's fields\n`,
    );
  return map;
}

/**
 * The chat template a command uses: --chat-template, else the model's own (tokenizer_config.json or
 * chat_template.jinja in `places`, model directories); null when there is none. A bare .jinja template takes
 * its EOS from the tokenizer, when known.
 */
export function loadChatTemplateFor(
  given: string | undefined,
  places: readonly (string | undefined)[],
  tok?: Tokenizer,
): ChatTemplate | null {
  const t = resolveChatTemplate(given, places, tok ? tokenizerTokens(tok) : { eosToken: EOS_TOKEN });
  if (t) process.stderr.write(`chat template: ${t.source} (turns end with ${t.endOfTurn.join(' ')})\n`);
  return t;
}

/** The --chat-template option of the commands that read conversational data. */
export const CHAT_TEMPLATE_FLAG = [
  '--chat-template <path>',
  "chat template to use instead of the model's own: a .jinja file, a tokenizer_config.json, or a directory " +
    'with either',
] as const;

/** `--dtype`: the weights of the decode steps when few prompts are sampled at once (engine/decode-weights.ts). */
export const DTYPE_FLAG = [
  '--dtype <type>',
  'weights of the decode steps when at most 8 prompts are sampled at once: float32 (the same values), bfloat16 ' +
    '(rounded to 16 bits: faster, half the memory; exact for checkpoints stored in BF16) or off (the BLAS ' +
    'path); activations stay float32',
  'float32',
] as const;

/** Applies `--dtype` for this process. */
export function applyDtypeFlag(value: string): void {
  setDecodeDtype(parseDecodeDtype(value, '--dtype'));
}

/** Demonstrations from JSONL {"prompt": …, "completion": …}. */
export function loadDemonstrations(path: string): PromptCompletion[] {
  const r = readJsonl(path, (obj) => ({
    prompt: stringField(obj, 'prompt'),
    completion: stringField(obj, 'completion'),
  }));
  reportIssues(path, r.issues, r.lines);
  if (r.records.length === 0)
    throw new Error(`${path}: no demonstrations; give JSONL records {"prompt": "…", "completion": "…"}`);
  return r.records;
}

/** A policy checkpoint, which must carry its tokenizer. */
export function loadPolicy(dir: string): Checkpoint & { tokenizer: Tokenizer } {
  const ck = loadCheckpoint(dir);
  if (!ck.tokenizer)
    throw new Error(`${dir}: the policy checkpoint has no tokenizer.json; train it with \`rlhf train sft\` or add one`);
  return ck as Checkpoint & { tokenizer: Tokenizer };
}
