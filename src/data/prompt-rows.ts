// Prompt records with the rest of their row: {"prompt": "3 8 + 7 5 =", "answer": "1 1 3"} is the prompt and
// the columns {answer}, which rewards written as code receive with each completion of the prompt.

import { readJsonl, RecordIssue } from './jsonl.js';
import { type PromptInput, parsePromptRecord } from './text.js';

export interface PromptRow {
  /** Text, or the messages of a conversational prompt. */
  prompt: PromptInput;
  /** The record's other fields. */
  columns: Record<string, unknown>;
}

/** {"prompt": text | messages, …other fields}: the prompt checked as parsePromptRecord checks it. */
export function parsePromptRow(obj: Record<string, unknown>): PromptRow {
  const prompt = parsePromptRecord(obj);
  const { prompt: _, ...columns } = obj;
  return { prompt, columns };
}

/** Every prompt row of a JSONL file, with the lines that could not be read. */
export function readPromptRows(path: string): { rows: PromptRow[]; issues: RecordIssue[]; lines: number } {
  const r = readJsonl(path, parsePromptRow);
  return { rows: r.records, issues: r.issues, lines: r.lines };
}
