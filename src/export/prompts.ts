// Prompt datasets (what PPO, RLOO and GRPO sample from) and SFT datasets, for TRL and OpenRLHF.
//
//   prompts  TRL: {"prompt"} (dataset_formats.md, "Prompt-only"; examples/scripts/ppo/ppo.py
//            tokenizes the "prompt" column). OpenRLHF: --input_key, default "input"
//            (cli/train_ppo_ray.py; datasets/prompts_dataset.py preprocess_data).
//   sft      TRL: {"prompt", "completion"} ("Prompt-completion"). OpenRLHF: --input_key (default
//            "input") and --output_key (default None, so it must be given) (cli/train_sft.py).
//
// Sources: a file of {"prompt": …} records (`rlhf sample --json` output too), an SFT file of
// {"prompt", "completion"} records, or comparisons in any format we read (their prompts; for SFT,
// each ranking's best completion).

import { Comparison } from '../data/comparison.js';
import { RecordIssue, readJsonl, readTextFile, stringField } from '../data/jsonl.js';
import { FormatName, detectFormat, readComparisons } from '../data/read-comparisons.js';
import { PromptCompletion, readSFTData } from '../data/text.js';
import { Column, ExportTable, textColumn } from './columns.js';
import { toCompletionMessages, toPromptMessages } from './messages.js';
import type { Target } from './preferences.js';

export interface SourceRead<T> {
  items: T[];
  /** What the file held: records of the kind asked for, or comparisons they were taken from. */
  kind: 'records' | 'comparisons';
  format?: FormatName;
  issues: RecordIssue[];
  lines: number;
}

/** True when the file holds comparisons (any format we read) rather than plain records. */
function holdsComparisons(path: string, format?: FormatName): boolean {
  if (format || /\.(txt|tsv)(\.gz)?$/i.test(path)) return true;
  const first = readTextFile(path)
    .split('\n')
    .find((l) => l.trim());
  if (first === undefined) throw new Error(`${path}: the file has no records`);
  let obj: unknown;
  try {
    obj = JSON.parse(first);
  } catch {
    return true; // let the comparison reader report the bad line with its number
  }
  return (
    typeof obj === 'object' &&
    obj !== null &&
    !Array.isArray(obj) &&
    detectFormat(obj as Record<string, unknown>) !== null
  );
}

function fromComparisons<T>(path: string, format: FormatName | undefined, pick: (c: Comparison) => T): SourceRead<T> {
  const r = readComparisons(path, { format });
  return { items: r.comparisons.map(pick), kind: 'comparisons', format: r.format, issues: r.issues, lines: r.lines };
}

/** Prompts from a prompt file ({"prompt": …} per line) or from comparisons. */
export function readPrompts(path: string, format?: FormatName): SourceRead<string> {
  if (holdsComparisons(path, format)) return fromComparisons(path, format, (c) => c.prompt);
  const r = readJsonl(path, (obj) => stringField(obj, 'prompt'));
  return { items: r.records, kind: 'records', issues: r.issues, lines: r.lines };
}

/** Prompt/completion pairs from an SFT file or from comparisons (each ranking's best completion). */
export function readSFTExamples(path: string, format?: FormatName): SourceRead<PromptCompletion> {
  if (holdsComparisons(path, format))
    return fromComparisons(path, format, (c) => ({ prompt: c.prompt, completion: c.completions[c.ranking[0]] }));
  const d = readSFTData(path);
  if (d.kind !== 'prompt-completion') {
    throw new Error(
      `${path}: holds ${d.kind === 'text' ? '{"text"} documents' : 'conversations ({"messages"})'}; an SFT ` +
        `dataset needs {"prompt", "completion"} records (or comparisons, whose best completions are used)`,
    );
  }
  return { items: d.examples, kind: 'records', issues: d.issues, lines: d.lines };
}

/** Drops repeated items (the first stays), keeping the order; returns how many were dropped. */
export function dedupe<T>(items: T[], key: (x: T) => string): { items: T[]; dropped: number } {
  const seen = new Set<string>();
  const out = items.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { items: out, dropped: items.length - out.length };
}

export interface TextFormOptions {
  target: Target;
  chat: boolean;
}

/** Column names per target: TRL's fixed names, OpenRLHF's default --input_key and our --output_key. */
export function promptColumnName(target: Target): string {
  return target === 'trl' ? 'prompt' : 'input';
}
export function completionColumnName(target: Target): string {
  return target === 'trl' ? 'completion' : 'output';
}

export interface FormStats {
  rows: number;
  /** With chat: texts that were not HH-style and became one message each. */
  plainPrompts: number;
  plainCompletions: number;
}

export function promptTable(prompts: string[], opts: TextFormOptions): { table: ExportTable; stats: FormStats } {
  const name = promptColumnName(opts.target);
  const stats: FormStats = { rows: prompts.length, plainPrompts: 0, plainCompletions: 0 };
  const rows = prompts.map((p) => {
    if (!opts.chat) return { key: p, values: { [name]: p } };
    const m = toPromptMessages(p);
    if (!m.exact) stats.plainPrompts++;
    return { key: p, values: { [name]: m.messages } };
  });
  return { table: { columns: [textColumn(name, opts.chat)], rows }, stats };
}

export function sftTable(
  examples: PromptCompletion[],
  opts: TextFormOptions,
): { table: ExportTable; stats: FormStats } {
  const pName = promptColumnName(opts.target),
    cName = completionColumnName(opts.target);
  const columns: Column[] = [textColumn(pName, opts.chat), textColumn(cName, opts.chat)];
  const stats: FormStats = { rows: examples.length, plainPrompts: 0, plainCompletions: 0 };
  const rows = examples.map((e) => {
    if (!opts.chat) return { key: e.prompt, values: { [pName]: e.prompt, [cName]: e.completion } };
    const p = toPromptMessages(e.prompt),
      c = toCompletionMessages(e.completion);
    if (!p.exact) stats.plainPrompts++;
    if (!c.exact) stats.plainCompletions++;
    return { key: e.prompt, values: { [pName]: p.messages, [cName]: c.messages } };
  });
  return { table: { columns, rows }, stats };
}

/** The flags that point each trainer at these columns. */
export function promptFlags(opts: TextFormOptions): string[] {
  if (opts.target === 'trl') return [];
  return ['--input_key input', ...(opts.chat ? ['--apply_chat_template'] : [])];
}
export function sftFlags(opts: TextFormOptions): string[] {
  if (opts.target === 'trl') return [];
  // NOTE: train_sft's --input_template defaults to "User: {}\nAssistant: " in the releases we read,
  // which would wrap our prompts; an empty template turns it off.
  return [
    '--input_key input',
    '--output_key output',
    ...(opts.chat ? ['--apply_chat_template'] : ["--input_template ''"]),
  ];
}
