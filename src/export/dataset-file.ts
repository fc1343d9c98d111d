// Writing an export table as JSONL or Parquet, as one file or as a dataset directory with train
// and test splits.
//
// A directory is what `datasets.load_dataset(DIR)` (so `trl … --dataset_name DIR`) reads with its
// splits named from the files: "train.jsonl" is the train split, "test.jsonl" the test split
// (https://huggingface.co/docs/datasets/repository_structure, "Splits and file names").
// OpenRLHF's --dataset / --prompt_data take a .jsonl or .parquet file directly
// (openrlhf/datasets/utils.py blending_datasets), and --eval_dataset the test file.
//
// Parquet is written by hyparquet-writer with an explicit schema, so every file has the same
// column types whatever its rows hold: strings are UTF8 byte arrays, margins float64, and
// messages the standard three-level LIST of a required struct {role, content}.

import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { writeJsonl } from '../data/jsonl.js';
import { splitByKey } from '../data/split.js';
import { Column, ExportTable, checkTable } from './columns.js';

export type FileFormat = 'jsonl' | 'parquet';

export interface OutputPlan {
  /** One file, or a directory of train (and test) files. */
  kind: 'file' | 'dir';
  format: FileFormat;
  path: string;
}

/**
 * Where and how to write: a path ending in .jsonl or .parquet is one file; any other path is a
 * dataset directory (files in `format`, JSONL unless told).
 */
export function planOutput(out: string, opts: { evalFraction?: number; dirFormat?: FileFormat } = {}): OutputPlan {
  const m = /\.(jsonl|parquet)$/i.exec(out);
  if (m) {
    if (opts.evalFraction) {
      throw new Error(
        `--out ${out}: --eval-fraction writes a train and a test file; give a directory (e.g. --out ` +
          `${out.replace(/\.(jsonl|parquet)$/i, '')}) instead of one file`,
      );
    }
    return { kind: 'file', format: m[1].toLowerCase() as FileFormat, path: out };
  }
  if (/\.(gz|json|csv|arrow|txt)$/i.test(out)) {
    throw new Error(
      `--out ${out}: write FILE.jsonl, FILE.parquet, or a directory (train.jsonl and test.jsonl inside); ` +
        `${out.split('.').pop()} is not written`,
    );
  }
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new Error(
      `--out ${out}: exists and is a file, not a directory; give FILE.jsonl, FILE.parquet or a directory`,
    );
  return { kind: 'dir', format: opts.dirFormat ?? 'jsonl', path: out };
}

export interface WrittenFile {
  path: string;
  rows: number;
  split?: 'train' | 'test';
}

/** Writes the table as planned; the test split holds the rows whose key (prompt) hashes into evalFraction. */
export async function writeTable(table: ExportTable, plan: OutputPlan, evalFraction = 0): Promise<WrittenFile[]> {
  checkTable(table);
  if (table.rows.length === 0) throw new Error('nothing to export: no rows');
  if (plan.kind === 'file') {
    await writeFile(plan.path, plan.format, table);
    return [{ path: plan.path, rows: table.rows.length }];
  }
  mkdirSync(plan.path, { recursive: true });
  const { train, eval: test } = splitByKey(table.rows, (r) => r.key, evalFraction);
  if (evalFraction > 0 && test.length === 0) {
    throw new Error(
      `--eval-fraction ${evalFraction}: no prompt of ${new Set(table.rows.map((r) => r.key)).size} fell in the ` +
        `test split; raise it or leave it out`,
    );
  }
  if (train.length === 0)
    throw new Error(`--eval-fraction ${evalFraction}: every prompt fell in the test split; lower it`);
  const out: WrittenFile[] = [];
  for (const [split, rows] of [
    ['train', train],
    ['test', test],
  ] as const) {
    if (split === 'test' && evalFraction === 0) continue;
    const path = join(plan.path, `${split}.${plan.format}`);
    await writeFile(path, plan.format, { columns: table.columns, rows });
    out.push({ path, rows: rows.length, split });
  }
  return out;
}

async function writeFile(path: string, format: FileFormat, table: ExportTable): Promise<void> {
  if (format === 'jsonl')
    return writeJsonl(
      path,
      table.rows.map((r) => r.values),
    );
  const bytes = parquetBytes(table);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

function schemaOf(c: Column): SchemaElement[] {
  if (c.type === 'text')
    return [{ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' }];
  if (c.type === 'number') return [{ name: c.name, type: 'DOUBLE', repetition_type: 'REQUIRED' }];
  return [
    { name: c.name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'REQUIRED', num_children: 2 },
    { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  ];
}

/** The table as a Parquet file (one row group per 100k rows, snappy-compressed pages). */
export function parquetBytes(table: ExportTable): Uint8Array {
  const schema: SchemaElement[] = [
    { name: 'root', num_children: table.columns.length },
    ...table.columns.flatMap(schemaOf),
  ];
  const ab = parquetWriteBuffer({
    columnData: table.columns.map((c) => ({ name: c.name, data: table.rows.map((r) => r.values[c.name]) })),
    schema,
    rowGroupSize: 100_000,
    createdBy: 'rlhf export',
  });
  return new Uint8Array(ab);
}
