// Reading a JSONL file that another process is still appending to (a trainer's metrics.jsonl): from a
// byte offset to the last complete line, so a line half written is left for the next read. Each line
// that is not a JSON object becomes a problem naming its line number, never an exception. A file that
// was started again (shorter than the offset, or with another first line) is read again from its start.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Where a reader stopped: the byte offset after the last complete line, lines read, and the file's head. */
export interface TailCursor {
  offset: number;
  line: number;
  /** A digest of the file's first line ('' before it is complete): another one means another file. */
  head: string;
}

export interface TailRecord {
  /** 1-based line number in the file. */
  line: number;
  /** Byte range of the line (without its newline). */
  start: number;
  end: number;
  value: Record<string, unknown>;
}

export interface TailProblem {
  line: number;
  message: string;
}

export interface TailRead extends TailCursor {
  records: TailRecord[];
  problems: TailProblem[];
  /** True when the file was read again from its start (the caller drops what it had). */
  reset: boolean;
  /** The file's size now: more than `offset` while a line is being written or more is left to read. */
  size: number;
  /** True when the read stopped at its byte budget with complete lines left: read again at once. */
  more: boolean;
}

export const START: TailCursor = { offset: 0, line: 0, head: '' };

const CHUNK = 1 << 20;
/** Bytes of the first line that identify a file (a metrics line is far shorter). */
const HEAD_BYTES = 4096;

/** Reads `length` bytes at `position` (fewer at the end of the file). */
function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

function headOf(fd: number, size: number): string {
  const first = readAt(fd, 0, Math.min(size, HEAD_BYTES));
  const nl = first.indexOf(10);
  if (nl < 0 && size > HEAD_BYTES) return createHash('sha1').update(first).digest('hex').slice(0, 16);
  if (nl < 0) return '';
  return createHash('sha1').update(first.subarray(0, nl)).digest('hex').slice(0, 16);
}

/** One line's record, or why it is not one. Blank lines are neither. */
export function parseLine(text: string): { value: Record<string, unknown> } | { error: string } | null {
  const t = text.trim();
  if (t === '') return null;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    return { error: `not JSON (${(e as Error).message})` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return { error: `a JSON ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}, not an object` };
  return { value: v as Record<string, unknown> };
}

/**
 * The complete lines of `path` after `from`, at most about `maxBytes` of them (the cursor then points at
 * the rest). A missing file reads as empty.
 */
export function readJSONLFrom(path: string, from: TailCursor = START, maxBytes = 8 * CHUNK): TailRead {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return { ...START, records: [], problems: [], reset: from.offset > 0, size: 0, more: false };
    throw e;
  }
  try {
    const size = fstatSync(fd).size;
    const head = headOf(fd, size);
    const reset = from.offset > size || (from.head !== '' && from.head !== head);
    let { offset, line } = reset ? START : from;
    const begin = offset;
    const records: TailRecord[] = [];
    const problems: TailProblem[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let pendingStart = offset;
    let pos = offset;
    const chunkBytes = Math.min(CHUNK, maxBytes);
    while (pos < size && offset - begin < maxBytes) {
      const chunk = readAt(fd, pos, Math.min(chunkBytes, size - pos));
      if (chunk.length === 0) break;
      pos += chunk.length;
      const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let lineStart = 0;
      for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, lineStart)) {
        line++;
        const start = pendingStart + lineStart;
        const parsed = parseLine(buf.toString('utf8', lineStart, nl));
        if (parsed && 'value' in parsed) records.push({ line, start, end: pendingStart + nl, value: parsed.value });
        else if (parsed) problems.push({ line, message: parsed.error });
        lineStart = nl + 1;
        offset = pendingStart + lineStart;
      }
      pending = buf.subarray(lineStart);
      pendingStart += lineStart;
    }
    return { offset, line, head, records, problems, reset, size, more: pos < size };
  } finally {
    closeSync(fd);
  }
}

/** The records at these byte ranges (lines read before with readJSONLFrom). */
export function readRanges(path: string, ranges: { line: number; start: number; end: number }[]): TailRecord[] {
  const fd = openSync(path, 'r');
  try {
    const out: TailRecord[] = [];
    for (const r of ranges) {
      const parsed = parseLine(readAt(fd, r.start, r.end - r.start).toString('utf8'));
      if (parsed && 'value' in parsed) out.push({ ...r, value: parsed.value });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
