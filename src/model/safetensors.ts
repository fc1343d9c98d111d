// safetensors: the checkpoint format Hugging Face and PyTorch read (https://github.com/huggingface/safetensors).
// This file reads and writes whole files of any dtype in memory (optimizer state, weights on the wire);
// the header is in safetensors-header.ts, and model weights, streamed from disk into float32 and
// possibly sharded, are in weights.ts.
//
// No npm package is maintained for it, and the format is small, so it lives here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { bf16ToF32Into, f16ToF32Into } from './half.js';
import {
  DTYPE_BYTES,
  type Dtype,
  assertLittleEndian,
  encodeHeader,
  headerLength,
  isDtype,
  numel,
  parseHeader,
} from './safetensors-header.js';

export type { Dtype } from './safetensors-header.js';

// Kept here for callers that convert single values of files this module reads.
export { halfToFloat } from './half.js';

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
  const n = headerLength(buf.subarray(0, 8), buf.byteLength, file);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(buf.subarray(8, dataStart), buf.byteLength - dataStart, file);
  const tensors = new Map<string, NamedTensor>();
  for (const t of entries) {
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
  const size = DTYPE_BYTES[dtype];
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
  if (dtype === 'BF16') bf16ToF32Into(data as Uint16Array, out);
  else if (dtype === 'F16') f16ToF32Into(data as Uint16Array, out);
  else if (dtype === 'I64') {
    const src = data as BigInt64Array;
    for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
  } else {
    out.set(data as Float64Array | Int32Array | Uint8Array);
  }
  return out;
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
        `${Object.keys(DTYPE_BYTES).join(', ')}`,
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
  items.sort((a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype]);

  const head = encodeHeader(
    items.map((it) => ({ name: it.name, dtype: it.dtype, shape: it.shape, byteLength: it.data.byteLength })),
    metadata,
    'writeSafetensors',
  );
  writeFileAtomically(file, 'writeSafetensors', (fd) => {
    writeAll(fd, head);
    // Write straight from each tensor's memory: no second copy of a large checkpoint.
    for (const it of items) writeAll(fd, new Uint8Array(it.data.buffer, it.data.byteOffset, it.data.byteLength));
  });
}

/**
 * Writes a file atomically: `fill` writes a temp file in the same directory, which is fsynced and then
 * renamed over `file`, so a crash never leaves a half-written file under the real name. Errors are
 * prefixed with `who` and the file.
 */
export function writeFileAtomically(file: string, who: string, fill: (fd: number) => void): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w');
    fill(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new Error(`${who} ${file}: ${(e as Error).message}`);
  }
  syncDir(dir);
}

export function writeAll(fd: number, bytes: Uint8Array): void {
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
