// The rows `rlhf export` writes, and the columns they have: what the JSONL and Parquet writers
// need to know to give every row the same typed columns (Parquet has one schema per file, and
// Hugging Face `datasets` infers one from the first rows of a JSONL file).

import type { Message } from './messages.js';

/** A column's type: a string, a list of {role, content} messages, or a float64. */
export type ColumnType = 'text' | 'messages' | 'number';

export interface Column {
  name: string;
  type: ColumnType;
}

export type CellValue = string | Message[] | number;

/** One exported row, and the text that decides its side of a train/test split (its prompt). */
export interface ExportRow {
  key: string;
  values: Record<string, CellValue>;
}

export interface ExportTable {
  columns: Column[];
  rows: ExportRow[];
}

/** The type of a text-or-messages column in the chosen form. */
export const textColumn = (name: string, chat: boolean): Column => ({ name, type: chat ? 'messages' : 'text' });

/**
 * Checks that every row has exactly the declared columns with the declared types; the writers
 * rely on it. A failure here is a bug in the code that built the rows, not in the user's data.
 */
export function checkTable(t: ExportTable): void {
  const names = new Set(t.columns.map((c) => c.name));
  t.rows.forEach((r, i) => {
    for (const k of Object.keys(r.values))
      if (!names.has(k)) throw new Error(`export row ${i}: unexpected column "${k}"`);
    for (const c of t.columns) {
      const v = r.values[c.name];
      const ok =
        c.type === 'text'
          ? typeof v === 'string'
          : c.type === 'number'
            ? typeof v === 'number' && Number.isFinite(v)
            : Array.isArray(v) && v.every((m) => typeof m.role === 'string' && typeof m.content === 'string');
      if (!ok)
        throw new Error(
          `export row ${i}: column "${c.name}" must be ${c.type}, got ${JSON.stringify(v)?.slice(0, 60)}`,
        );
    }
  });
}
