// TensorBoard event files, written without TensorFlow, so `tensorboard --logdir` shows a run live.
//
// A file is a sequence of TFRecords:
//   uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data
// and each record's data is one protobuf `Event` (TensorBoard's event.proto / summary.proto):
//   Event      { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5;
//                SessionLog session_log = 7; } SourceMetadata source_metadata = 10; }
//   Summary    { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
//   SessionLog { SessionStatus status = 1; }   (START = 1)   SourceMetadata { string writer = 1; }
// The first record is the file version "brain.Event:2"; the name is TensorBoard's
// `events.out.tfevents.<seconds>.<hostname>.<pid>.<n>`, and readers take a directory's files in name order.

import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

// ---- CRC32C (Castagnoli), as TFRecord checks its lengths and data ----

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    // 0x82f63b78 is the Castagnoli polynomial 0x1edc6f41, bit-reversed (the CRC is computed LSB first).
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** The CRC32C of bytes (as an unsigned 32-bit integer). */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC32C_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * TFRecord's masked CRC: rotated right by 15 bits plus a constant, so that a CRC stored inside the data
 * it covers does not look like a valid checksum of itself.
 */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord holding `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---- protobuf, the few wire types an Event needs ----

const utf8 = new TextEncoder();

/** Appends protobuf fields to a growing byte list (metrics lines are small: a few hundred bytes). */
class ProtoWriter {
  private readonly bytes: number[] = [];
  private readonly scratch = new DataView(new ArrayBuffer(8));

  private varint(v: number): void {
    // NOTE: plain arithmetic, not bit operators, so values above 2³¹ (int64 steps) stay exact up to 2⁵³.
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
  }
  private key(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }
  uint(field: number, v: number): this {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new Error(`protobuf field ${field}: ${v} is not a non-negative integer`);
    this.key(field, 0);
    this.varint(v);
    return this;
  }
  double(field: number, v: number): this {
    this.key(field, 1);
    this.scratch.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.bytes.push(this.scratch.getUint8(i));
    return this;
  }
  float(field: number, v: number): this {
    this.key(field, 5);
    this.scratch.setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.bytes.push(this.scratch.getUint8(i));
    return this;
  }
  bytesField(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(b.length);
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytesField(field, utf8.encode(s));
  }
  message(field: number, m: ProtoWriter): this {
    return this.bytesField(field, m.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** What one Event holds: exactly one of a file version, scalars, or a session start. */
export type EventBody =
  | { fileVersion: string; writer?: string }
  | { scalars: Record<string, number> }
  | { sessionStart: true };

/** The protobuf bytes of an Event at `step` (proto3 leaves a zero step out, as protoc's writers do). */
export function encodeEvent(wallTime: number, step: number, body: EventBody): Uint8Array {
  const e = new ProtoWriter().double(1, wallTime);
  if (step !== 0) e.uint(2, step);
  if ('fileVersion' in body) {
    e.string(3, body.fileVersion);
    if (body.writer) e.message(10, new ProtoWriter().string(1, body.writer));
  } else if ('scalars' in body) {
    const summary = new ProtoWriter();
    for (const [tag, v] of Object.entries(body.scalars))
      summary.message(1, new ProtoWriter().string(1, tag).float(2, v));
    e.message(5, summary);
  } else e.message(7, new ProtoWriter().uint(1, 1));
  return e.finish();
}

// ---- the file ----

export const FILE_VERSION = 'brain.Event:2';
const PREFIX = 'events.out.tfevents.';
let filesOpened = 0;

/**
 * A new event file in `dir`, written record by record with a synchronous write each, so a running
 * TensorBoard sees every line as it is logged (the loop never yields to flush a stream).
 *
 * Its first scalars come after a SessionLog START at their step. TensorBoard reads that as a restart:
 * points of earlier files in the directory at that step or later are dropped (its Python loader does
 * this on the START; its Rust loader drops them when an earlier step arrives). So a resumed run hides
 * what the interrupted one logged past its last checkpoint, and a new run in the same directory hides the old.
 */
export class EventFileWriter {
  readonly path: string;
  private fd: number;
  private started = false;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    const host = hostname().replace(/[^A-Za-z0-9._-]/g, '_');
    let seconds = Math.floor(Date.now() / 1000);
    // NOTE: readers order a directory's files by name, which follows their start time; a run resumed
    // within the second its predecessor started (a test) must still sort after it.
    for (const f of existsSync(dir) ? readdirSync(dir) : []) {
      const s = f.startsWith(PREFIX) ? Number(f.slice(PREFIX.length).split('.')[0]) : NaN;
      if (Number.isFinite(s) && s >= seconds) seconds = s + 1;
    }
    this.path = join(dir, `${PREFIX}${seconds}.${host}.${process.pid}.${filesOpened++}`);
    this.fd = openSync(this.path, 'wx');
    this.write(0, { fileVersion: FILE_VERSION, writer: 'rlhf' });
  }

  private write(step: number, body: EventBody): void {
    if (this.fd < 0) throw new Error(`${this.path}: the event file is closed`);
    writeSync(this.fd, tfRecord(encodeEvent(Date.now() / 1000, step, body)));
  }

  /** One Event at `step` with a scalar per entry (tag → value; NaN and ±Infinity are kept). */
  scalars(step: number, values: Record<string, number>): void {
    if (!this.started) {
      this.write(step, { sessionStart: true });
      this.started = true;
    }
    this.write(step, { scalars: values });
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * The scalars of one metrics line: each numeric field but the step fields, under its own name (the
 * names are namespaced already: 'train/loss', 'objective/kl'). Texts and booleans are left out.
 */
export function metricScalars(record: Record<string, unknown>, stepFields: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(record)) if (typeof v === 'number' && !stepFields.includes(k)) out[k] = v;
  return out;
}
