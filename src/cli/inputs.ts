// Reading what commands take as input, with the problems reported the same way everywhere:
// unusable records as `file:line: field "x": message` (the first 10, then a count) on stderr.

import { Comparison } from '../data/comparison.js';
import { RecordIssue, formatIssue, readJsonl, stringField } from '../data/jsonl.js';
import { FormatName, readComparisons } from '../data/read-comparisons.js';
import type { PromptCompletion } from '../data/text.js';
import { Checkpoint, loadCheckpoint } from '../model/checkpoint.js';
import { Tokenizer } from '../model/tokenizer/index.js';

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

/** Prompts from JSONL {"prompt": …}. */
export function loadPrompts(path: string): string[] {
  const r = readJsonl(path, (obj) => stringField(obj, 'prompt'));
  reportIssues(path, r.issues, r.lines);
  if (r.records.length === 0) throw new Error(`${path}: no prompts; give JSONL records {"prompt": "…"}`);
  return r.records;
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
