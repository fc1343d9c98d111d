// Reading TRL's unpaired format for KTO as it is, one row per completion: {"prompt", "completion",
// "label": true|false} (text, or conversational with lists of messages). Unlike `rlhf data`, which pairs
// the rows into comparisons, KTO trains on each row alone. A row that cannot be used (no label, a label
// that is not true or false) is reported with its file, line and field, never dropped silently.

import { RecordIssue, readJsonl } from './jsonl.js';
import { detectFormat } from './read-comparisons.js';
import { UnpairedItem, parseUnpaired } from './formats/trl-unpaired.js';

export interface UnpairedRow extends UnpairedItem {
  /** The row's line in its file. */
  line: number;
}

export interface ReadUnpairedResult {
  rows: UnpairedRow[];
  issues: RecordIssue[];
  /** Non-empty lines read. */
  lines: number;
  /** Rows labeled true and false. */
  desirable: number;
  undesirable: number;
}

/**
 * Reads unpaired rows (.jsonl or .jsonl.gz). Throws when no row is usable, naming the file, the first
 * problem and, when the file holds another format (pairs), what reads it.
 */
export function readUnpaired(path: string): ReadUnpairedResult {
  let other: string | null = null;
  const r = readJsonl(path, (obj, line) => {
    const f = detectFormat(obj);
    if (f && f !== 'trl-unpaired') other ??= f;
    return { ...parseUnpaired(obj), line };
  });
  if (r.records.length === 0) {
    const first = r.issues[0];
    const why = first
      ? `line ${first.line}${first.field ? `, field "${first.field}"` : ''}: ${first.message}`
      : 'the file has no records';
    const hint = other
      ? `; its records look like the ${other} format (pairs of completions): train on pairs with \`rlhf train dpo\``
      : '';
    throw new Error(`${path}: no usable unpaired rows {"prompt", "completion", "label": true|false} (${why})${hint}`);
  }
  const desirable = r.records.filter((x) => x.label).length;
  return {
    rows: r.records,
    issues: r.issues,
    lines: r.lines,
    desirable,
    undesirable: r.records.length - desirable,
  };
}
