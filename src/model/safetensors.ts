// safetensors: the checkpoint format Hugging Face and PyTorch read (https://github.com/huggingface/safetensors).
//
// Layout: u64 little-endian header length N | N bytes of JSON header | raw little-endian tensor data.
// Header: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { str: str } },
// offsets relative to the first byte after the header.
//
// No npm package is maintained for it, and the format is small, so it lives here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';

export type Dtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';

/** Typed arrays that hold tensor data. F16 and BF16 are raw 16-bit patterns in a Uint16Array. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

export interface NamedTensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

/** What `writeSafetensors` accepts: dtype is inferred from the array unless given (needed for F16, BF16, BOOL). */
export interface TensorToWrite {
  shape: number[];
  data: TensorData;
  dtype?: Dtype;
}

const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };

// The reference implementation refuses headers above 100 MB; a larger one means a corrupt length field.
const MAX_HEADER_BYTES = 100_000_000;

// NOTE: typed arrays use the host byte order and the format is little-endian. Every platform Node
// ships for is little-endian; refuse rather than silently read garbage elsewhere.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndian(): void {
  if (!HOST_IS_LITTLE_ENDIAN)
    throw new Error('safetensors: big-endian hosts are not supported (the format is little-endian)');
}

function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.hasOwn(BYTES, s);
}

function numel(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---- reading ----

/**
 * Read every tensor of a safetensors file. Data are views into one buffer holding the file where the
 * offset is aligned for the element type (always, for files written by us or by Python's safetensors),
 * else copies.
 * NOTE: a view keeps the whole file buffer alive as long as any tensor of it is referenced.
 */
export function readSafetensors(file: string): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  assertLittleEndian();
  const buf = fs.readFileSync(file);
  return parseSafetensors(buf, file);
}

/** Parse safetensors bytes already in memory; `file` only names the source in error messages. */
export function parseSafetensors(
  buf: Uint8Array,
  file = '<buffer>',
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  assertLittleEndian();
  const fail = (what: string): never => {
    throw new Error(`safetensors ${file}: ${what}`);
  };
  if (buf.byteLength < 8)
    fail(
      `file is ${buf.byteLength} bytes, shorter than the 8-byte header length; it is truncated or not a ` +
        `safetensors file`,
    );
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    fail(
      `header length field says ${n64} bytes (limit ${MAX_HEADER_BYTES}); the file is corrupt or not a ` +
        `safetensors file`,
    );
  const n = Number(n64);
  if (n < 2) fail(`header length field says ${n} bytes, too short for a JSON object; the file is corrupt`);
  if (8 + n > buf.byteLength)
    fail(`header length field says ${n} bytes but only ${buf.byteLength - 8} follow it; the file is truncated`);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message}); the file is corrupt`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header JSON is not an object');

  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  const entries = header as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const specs: { name: string; dtype: Dtype; shape: number[]; begin: number; end: number }[] = [];

  for (const [name, raw] of Object.entries(entries)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        fail('"__metadata__" must be an object of string values');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string')
          fail(`"__metadata__"."${k}" is ${JSON.stringify(v)}; metadata values must be strings`);
        metadata[k] = v as string;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof raw !== 'object' || raw === null) fail(`${where}: entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (!isDtype(dtype))
      fail(`${where}: unknown dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(BYTES).join(', ')}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`${where}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] of non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen)
      fail(
        `${where}: data_offsets [${begin}, ${end}] out of range; the data section has ${dataLen} bytes (file ` +
          `truncated?)`,
      );
    const d = dtype as Dtype;
    const s = shape as number[];
    const want = numel(s) * BYTES[d];
    if (want !== end - begin)
      fail(
        `${where}: shape [${s.join(', ')}] × ${d} (${BYTES[d]} bytes) needs ${want} bytes but data_offsets span ` +
          `${end - begin}`,
      );
    spans.push({ name, begin, end });
    specs.push({ name, dtype: d, shape: s, begin, end });
  }

  // Overlap check: sort by begin; each span must start at or after the furthest end seen so far.
  // Empty tensors occupy no bytes and cannot overlap. Gaps are tolerated (the reference implementation
  // rejects them; nothing here depends on contiguity).
  const nonEmpty = spans.filter((s) => s.end > s.begin).sort((a, b) => a.begin - b.begin);
  let last: (typeof spans)[number] | undefined;
  for (const cur of nonEmpty) {
    if (last !== undefined && cur.begin < last.end) {
      fail(
        `tensor "${cur.name}" data_offsets [${cur.begin}, ${cur.end}] overlap tensor "${last.name}" ` +
          `[${last.begin}, ${last.end}]`,
      );
    }
    if (last === undefined || cur.end > last.end) last = cur;
  }

  const tensors = new Map<string, NamedTensor>();
  for (const t of specs) {
    tensors.set(t.name, {
      dtype: t.dtype,
      shape: t.shape,
      data: viewOrCopy(buf, dataStart + t.begin, t.end - t.begin, t.dtype),
    });
  }
  return { tensors, metadata };
}

/** A typed array over `byteLength` bytes of `buf` at `offset`: a view when aligned, else a copy. */
function viewOrCopy(buf: Uint8Array, offset: number, byteLength: number, dtype: Dtype): TensorData {
  const size = BYTES[dtype];
  const abs = buf.byteOffset + offset;
  const count = byteLength / size;
  let ab: ArrayBufferLike = buf.buffer;
  let at = abs;
  if (abs % size !== 0) {
    // NOTE: typed arrays need offsets aligned to their element size. Files whose header length is not a
    // multiple of 8 (some other writers) land here: copy just this tensor.
    // NOTE: Buffer#slice makes a view, not a copy; Uint8Array#slice copies.
    ab = Uint8Array.prototype.slice.call(buf, offset, offset + byteLength).buffer;
    at = 0;
  }
  switch (dtype) {
    case 'F32':
      return new Float32Array(ab, at, count);
    case 'F64':
      return new Float64Array(ab, at, count);
    case 'I32':
      return new Int32Array(ab, at, count);
    case 'I64':
      return new BigInt64Array(ab, at, count);
    case 'F16':
    case 'BF16':
      return new Uint16Array(ab, at, count);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(ab, at, count);
  }
}

/**
 * Read a file and convert every tensor to float32 (weights saved as F16, BF16 or F64 by other tools;
 * integer tensors too, exactly for |x| < 2^24). F32 tensors are views, not copies, when aligned.
 */
export function readSafetensorsF32(file: string): {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  metadata: Record<string, string>;
} {
  const { tensors, metadata } = readSafetensors(file);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of tensors) out.set(name, { shape: t.shape, data: toFloat32(t) });
  return { tensors: out, metadata };
}

/** Convert one tensor's data to float32 (no copy for F32). */
export function toFloat32(t: NamedTensor): Float32Array {
  const { dtype, data } = t;
  if (dtype === 'F32') return data as Float32Array;
  const out = new Float32Array(data.length);
  if (dtype === 'BF16') {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    const src = data as Uint16Array;
    for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  } else if (dtype === 'F16') {
    const src = data as Uint16Array;
    for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
  } else if (dtype === 'I64') {
    const src = data as BigInt64Array;
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
  } else {
    out.set(data as Float64Array | Int32Array | Uint8Array);
  }
  return out;
}

/** IEEE 754 binary16 bits → number (exact: every half is a float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// ---- writing ----

function inferDtype(name: string, t: TensorToWrite): Dtype {
  const d = t.data;
  const fromArray: Dtype | undefined =
    d instanceof Float32Array
      ? 'F32'
      : d instanceof Float64Array
        ? 'F64'
        : d instanceof Int32Array
          ? 'I32'
          : d instanceof BigInt64Array
            ? 'I64'
            : d instanceof Uint8Array
              ? 'U8'
              : undefined;
  const dtype = t.dtype ?? fromArray;
  if (dtype === undefined)
    throw new Error(`writeSafetensors: tensor "${name}" is a Uint16Array; pass dtype 'F16' or 'BF16' to say which`);
  if (!isDtype(dtype))
    throw new Error(
      `writeSafetensors: tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}; supported: ` +
        `${Object.keys(BYTES).join(', ')}`,
    );
  const okArray =
    dtype === 'F16' || dtype === 'BF16'
      ? d instanceof Uint16Array
      : dtype === 'BOOL'
        ? d instanceof Uint8Array
        : fromArray === dtype;
  if (!okArray)
    throw new Error(`writeSafetensors: tensor "${name}" has dtype ${dtype} but its data is a ${d.constructor.name}`);
  return dtype;
}

/**
 * Write tensors (and optional string metadata) atomically: a temp file in the same directory, fsync,
 * then rename over `file`, so a crash never leaves a half-written checkpoint under the real name.
 * Tensors are laid out widest element type first so every tensor is aligned for zero-copy reading.
 */
export function writeSafetensors(
  file: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): void {
  assertLittleEndian();
  const items = Object.entries(tensors).map(([name, t]) => {
    if (name === '__metadata__')
      throw new Error('writeSafetensors: "__metadata__" is reserved; pass metadata as the third argument');
    const dtype = inferDtype(name, t);
    if (!Array.isArray(t.shape) || !t.shape.every((x) => Number.isSafeInteger(x) && x >= 0)) {
      throw new Error(
        `writeSafetensors: tensor "${name}" shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`,
      );
    }
    if (numel(t.shape) !== t.data.length) {
      throw new Error(
        `writeSafetensors: tensor "${name}" shape [${t.shape.join(', ')}] has ${numel(t.shape)} elements but ` +
          `data has ${t.data.length}`,
      );
    }
    return { name, dtype, shape: t.shape, data: t.data };
  });
  // Stable sort: widest first keeps every offset a multiple of its element size.
  items.sort((a, b) => BYTES[b.dtype] - BYTES[a.dtype]);

  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new Error(`writeSafetensors: metadata "${k}" is ${typeof v}; metadata values must be strings`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const it of items) {
    header[it.name] = { dtype: it.dtype, shape: it.shape, data_offsets: [offset, offset + it.data.byteLength] };
    offset += it.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonBytes) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const lenBytes = Buffer.alloc(8);
  lenBytes.writeBigUInt64LE(BigInt(headerBytes.length));

  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w');
    writeAll(fd, lenBytes);
    writeAll(fd, headerBytes);
    // Write straight from each tensor's memory: no second copy of a large checkpoint.
    for (const it of items) writeAll(fd, new Uint8Array(it.data.buffer, it.data.byteOffset, it.data.byteLength));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new Error(`writeSafetensors ${file}: ${(e as Error).message}`);
  }
  syncDir(dir);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

// Make the rename itself durable. Not possible on Windows (directories cannot be opened): skip there.
function syncDir(dir: string): void {
  if (os.platform() === 'win32') return;
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the data file itself is already synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
