// The body of a task import, read without holding up the event loop. A 30 MB file decoded or parsed
// in one call stops every other request for a few hundred ms (JSON.parse of the JSON form, or turning
// the bytes into one string). So the import route keeps the body as bytes and hands the import an
// ImportSource: the file a chunk of whole lines at a time, each chunk decoded on its own.
//   application/x-ndjson: the file itself; lines end at newline bytes (never inside a UTF-8 character).
//   application/json {"jsonl": "…", …}: the other fields are small and parsed as usual; the jsonl
//   string is cut after its "\n" escapes and each piece decoded with JSON.parse.

import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { ApiError } from './errors.js';

/** An import's file as chunks of whole lines (without the last newline), in order. */
export interface ImportSource {
  chunks(): Iterable<string>;
}

/** About this many bytes are decoded at a time (~2 ms of work). */
const CHUNK_BYTES = 256 * 1024;

export const stringSource = (text: string): ImportSource => ({ chunks: () => [text] });

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(b: Uint8Array, at: number): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new ApiError(400, 'bad_request', `the file is not valid UTF-8 (in the bytes from ${at}); save it as UTF-8`, {
      field: 'jsonl',
    });
  }
}

/** The bytes of an NDJSON file. */
export function ndjsonSource(buf: Buffer): ImportSource {
  return {
    *chunks() {
      for (let a = 0; a < buf.length; ) {
        const nl = a + CHUNK_BYTES >= buf.length ? -1 : buf.indexOf(0x0a, a + CHUNK_BYTES);
        const b = nl < 0 ? buf.length : nl;
        yield decodeUtf8(buf.subarray(a, b), a);
        a = b + 1;
      }
    },
  };
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;

/** The number of backslashes just before position i: odd means the byte at i is escaped. */
function backslashesBefore(buf: Buffer, i: number, from: number): number {
  let n = 0;
  while (i - 1 - n >= from && buf[i - 1 - n] === BACKSLASH) n++;
  return n;
}

/** The contents of the JSON string buf[start..end) (between its quotes), cut after "\n" escapes. */
function jsonStringSource(buf: Buffer, start: number, end: number): ImportSource {
  return {
    *chunks() {
      for (let a = start; a < end; ) {
        let b = end;
        // The first real "\n" escape after a chunk's worth of bytes (a "\\n" is a backslash and an n).
        for (let i = a + CHUNK_BYTES; i < end; i += 2) {
          i = buf.indexOf('\\n', i);
          if (i < 0 || i >= end) break;
          if (backslashesBefore(buf, i, a) % 2 === 0) {
            b = i;
            break;
          }
        }
        yield JSON.parse(`"${decodeUtf8(buf.subarray(a, b), a)}"`) as string;
        a = b + 2;
      }
    },
  };
}

const bad = (what: string) =>
  new SyntaxError(`${what}; send one JSON object {"jsonl": "…", "format"?, "completionsPerTask"?, "kind"?}`);

/** The end (exclusive) of the JSON string that opens at buf[i] (a quote). */
function stringEnd(buf: Buffer, i: number): number {
  for (let q = i + 1; ; q++) {
    q = buf.indexOf(QUOTE, q);
    if (q < 0) throw bad(`a string that starts at byte ${i} never ends`);
    if (backslashesBefore(buf, q, i + 1) % 2 === 0) return q + 1;
  }
}

/**
 * The end (exclusive) of the JSON value at buf[i]: a string, or anything up to the next , or } outside strings and
 * brackets.
 */
function valueEnd(buf: Buffer, i: number): number {
  if (buf[i] === QUOTE) return stringEnd(buf, i);
  let depth = 0;
  for (let j = i; j < buf.length; j++) {
    const c = buf[j];
    if (c === QUOTE) j = stringEnd(buf, j) - 1;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return j;
      depth--;
    } else if (c === 0x2c && depth === 0) return j;
  }
  throw bad('the object never ends');
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The JSON form's body: its small fields parsed, and the jsonl string as a source (in the body, the
 * jsonl field is "" so that the schema still checks that it was a string). NOTE: a body of other
 * shapes is parsed as usual, and the schema says what is wrong with it.
 */
export function readImportJson(buf: Buffer): { body: unknown; source?: ImportSource } {
  let i = 0;
  const skip = () => {
    while (i < buf.length && isSpace(buf[i])) i++;
  };
  skip();
  if (buf[i] !== 0x7b) return { body: parseSmall(buf) };
  const body: Record<string, unknown> = {};
  let source: ImportSource | undefined;
  i++;
  for (skip(); buf[i] !== 0x7d; skip()) {
    if (buf[i] !== QUOTE) throw bad(`expected a field name at byte ${i}`);
    const keyEnd = stringEnd(buf, i);
    const key = JSON.parse(buf.toString('utf8', i, keyEnd)) as string;
    if (key === '__proto__' || key === 'constructor') throw bad(`the field name "${key}" is not allowed`);
    if (Object.hasOwn(body, key)) throw bad(`the field "${key}" appears twice`);
    i = keyEnd;
    skip();
    if (buf[i] !== 0x3a) throw bad(`expected ":" after "${key}" at byte ${i}`);
    i++;
    skip();
    const end = valueEnd(buf, i);
    if (key === 'jsonl' && buf[i] === QUOTE) {
      source = jsonStringSource(buf, i + 1, end - 1);
      body.jsonl = '';
    } else {
      body[key] = parseSmall(buf.subarray(i, end));
    }
    i = end;
    skip();
    if (buf[i] === 0x2c) i++;
    else if (buf[i] !== 0x7d) throw bad(`expected "," or "}" at byte ${i}`);
  }
  skip();
  if (++i < buf.length && buf.subarray(i).some((c) => !isSpace(c))) throw bad('there is more after the object');
  return { body, source };
}

function parseSmall(b: Buffer): unknown {
  const text = b.toString('utf8').trim();
  if (!text) throw bad('the body is empty');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad(`the body is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * The request's body, at most `limit` bytes. NOTE: read into one buffer allocated from Content-Length
 * and filled as the chunks arrive: concatenating 30 MB of chunks at the end (what fastify's parsers
 * do) costs ~0.1 s of event loop on a busy machine.
 */
export function readBody(req: FastifyRequest, payload: Readable, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    Object.assign(new Error(`the body is over ${limit} bytes`), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
  const declared = Number(req.headers['content-length']);
  const known = Number.isSafeInteger(declared) && declared >= 0;
  return new Promise((resolve, reject) => {
    if (known && declared > limit) return reject(tooLarge());
    const whole = known ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let got = 0;
    payload.on('data', (c: Buffer) => {
      if (got + c.length > (known ? declared : limit)) {
        payload.destroy();
        return reject(
          known
            ? Object.assign(new Error('the body is longer than its Content-Length'), { statusCode: 400 })
            : tooLarge(),
        );
      }
      if (whole) c.copy(whole, got);
      else chunks.push(c);
      got += c.length;
    });
    payload.on('error', reject);
    payload.on('end', () => {
      if (whole && got !== declared)
        return reject(Object.assign(new Error('the body is shorter than its Content-Length'), { statusCode: 400 }));
      resolve(whole ?? Buffer.concat(chunks, got));
    });
  });
}
