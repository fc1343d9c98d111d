// JSONL reading and writing with line-numbered errors. A record that cannot be read is reported
// (file, line, field, how to fix) and counted, never silently dropped.

import { createWriteStream, existsSync, readFileSync, renameSync, WriteStream } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { FieldError } from './field-error.js';

export { FieldError };

export interface RecordIssue {
  file: string;
  line: number;
  field?: string;
  message: string;
}

export function formatIssue(i: RecordIssue): string {
  return `${i.file}:${i.line}: ${i.field ? `field "${i.field}": ` : ''}${i.message}`;
}

export interface ReadResult<T> {
  records: T[];
  /** Lines that could not be read, in order. */
  issues: RecordIssue[];
  /** Non-empty lines seen. */
  lines: number;
}

/** Reads a text file, gunzipping *.gz, with a clear error when it is missing. */
export function readTextFile(path: string): string {
  if (!existsSync(path)) throw new Error(`${path}: file not found`);
  const buf = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

/**
 * Parses each non-empty line of a JSONL file as JSON, then with `parse`. Errors are collected
 * in `issues` with their line numbers; `parse` (given the record and its line) throws FieldError to name
 * the field.
 */
export function readJsonl<T>(path: string, parse: (obj: Record<string, unknown>, line: number) => T): ReadResult<T> {
  const text = readTextFile(path);
  const records: T[] = [];
  const issues: RecordIssue[] = [];
  let lines = 0;
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (!line) continue;
    lines++;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      issues.push({
        file: path,
        line: lineNo,
        message: `not valid JSON (${(e as Error).message}); each line must be one JSON object`,
      });
      continue;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      issues.push({
        file: path,
        line: lineNo,
        message: `expected a JSON object, got ${Array.isArray(obj) ? 'an array' : JSON.stringify(obj)}`,
      });
      continue;
    }
    try {
      records.push(parse(obj as Record<string, unknown>, lineNo));
    } catch (e) {
      if (e instanceof FieldError) issues.push({ file: path, line: lineNo, field: e.field, message: e.message });
      else issues.push({ file: path, line: lineNo, message: (e as Error).message });
    }
  }
  return { records, issues, lines };
}

/** A required string field. */
export function stringField(obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (v === undefined)
    throw new FieldError(
      field,
      `missing; expected a string (fields present: ${Object.keys(obj).join(', ') || 'none'})`,
    );
  if (typeof v !== 'string')
    throw new FieldError(
      field,
      `must be a string, got ${typeof v === 'object' ? JSON.stringify(v)?.slice(0, 40) : typeof v}`,
    );
  return v;
}

/** Writes records as JSONL atomically (temp file, then rename). */
export function writeJsonl(path: string, records: Iterable<unknown>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const out: WriteStream = createWriteStream(tmp);
  for (const r of records) out.write(JSON.stringify(r) + '\n');
  return new Promise((resolve, reject) => {
    out.on('error', reject);
    out.end(() => {
      renameSync(tmp, path);
      resolve();
    });
  });
}

/** Appends one JSON line to an open stream (metrics logs). */
export function appendJsonl(out: WriteStream, record: unknown): void {
  out.write(JSON.stringify(record) + '\n');
}
