// The safetensors header: its length field, its JSON (parsed and checked, or encoded), and the facts
// about dtypes that both need. Readers and writers of whole files are in safetensors.ts and weights.ts.
//
// Layout: u64 little-endian header length N | N bytes of JSON header | raw little-endian tensor data.
// Header: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { str: str } },
// offsets relative to the first byte after the header.

export type Dtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };

// The reference implementation refuses headers above 100 MB; a larger one means a corrupt length field.
const MAX_HEADER_BYTES = 100_000_000;

// NOTE: typed arrays use the host byte order and the format is little-endian. Every platform Node
// ships for is little-endian; refuse rather than silently read garbage elsewhere.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function assertLittleEndian(): void {
  if (!HOST_IS_LITTLE_ENDIAN)
    throw new Error('safetensors: big-endian hosts are not supported (the format is little-endian)');
}

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.hasOwn(DTYPE_BYTES, s);
}

/** Number of elements of a shape ([] is a scalar: 1). */
export function numel(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** One tensor of a header; begin and end are byte offsets into the data section. */
export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * The header's length from the file's first 8 bytes, checked against the file's size in bytes: the
 * header is followed by `fileSize - 8 - n` bytes of data.
 */
export function headerLength(first8: Uint8Array, fileSize: number, file: string): number {
  const fail = (what: string): never => {
    throw new Error(`safetensors ${file}: ${what}`);
  };
  if (fileSize < 8 || first8.byteLength < 8)
    fail(
      `file is ${fileSize} bytes, shorter than the 8-byte header length; it is truncated or not a ` +
        `safetensors file`,
    );
  const n64 = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES))
    fail(
      `header length field says ${n64} bytes (limit ${MAX_HEADER_BYTES}); the file is corrupt or not a ` +
        `safetensors file`,
    );
  const n = Number(n64);
  if (n < 2) fail(`header length field says ${n} bytes, too short for a JSON object; the file is corrupt`);
  if (8 + n > fileSize)
    fail(`header length field says ${n} bytes but only ${fileSize - 8} follow it; the file is truncated`);
  return n;
}

export interface HeaderOptions {
  /** The dtypes the caller can use (default: all of `Dtype`); others are refused, naming the tensor. */
  supported?: readonly Dtype[];
  /** What the tensors are for, in the refusal of an unsupported dtype ("model weights"). */
  purpose?: string;
}

/**
 * Parses and checks a header's JSON bytes against a data section of `dataLen` bytes: every entry's
 * dtype, shape and offsets, and that no two tensors overlap. Errors name the file and the tensor.
 */
export function parseHeader(
  json: Uint8Array,
  dataLen: number,
  file: string,
  opts: HeaderOptions = {},
): { entries: TensorEntry[]; metadata: Record<string, string> } {
  const fail = (what: string): never => {
    throw new Error(`safetensors ${file}: ${what}`);
  };
  const supported = opts.supported ?? (Object.keys(DTYPE_BYTES) as Dtype[]);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message}); the file is corrupt`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header JSON is not an object');

  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
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
    if (!supported.includes(dtype as Dtype)) {
      const what = opts.purpose
        ? `dtype ${JSON.stringify(dtype)} is not supported for ${opts.purpose}`
        : `unknown dtype ${JSON.stringify(dtype)}`;
      fail(`${where}: ${what}; supported: ${supported.join(', ')}`);
    }
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
    const want = numel(s) * DTYPE_BYTES[d];
    if (want !== end - begin)
      fail(
        `${where}: shape [${s.join(', ')}] × ${d} (${DTYPE_BYTES[d]} bytes) needs ${want} bytes but ` +
          `data_offsets span ${end - begin}`,
      );
    entries.push({ name, dtype: d, shape: s, begin, end });
  }

  // Overlap check: sort by begin; each span must start at or after the furthest end seen so far.
  // Empty tensors occupy no bytes and cannot overlap. Gaps are tolerated (the reference implementation
  // rejects them; nothing here depends on contiguity).
  const nonEmpty = entries.filter((s) => s.end > s.begin).sort((a, b) => a.begin - b.begin);
  let last: TensorEntry | undefined;
  for (const cur of nonEmpty) {
    if (last !== undefined && cur.begin < last.end) {
      fail(
        `tensor "${cur.name}" data_offsets [${cur.begin}, ${cur.end}] overlap tensor "${last.name}" ` +
          `[${last.begin}, ${last.end}]`,
      );
    }
    if (last === undefined || cur.end > last.end) last = cur;
  }
  return { entries, metadata };
}

/**
 * The bytes before the data: u64 length + JSON header (tensors in the order given, packed from offset 0),
 * space-padded so the data section starts 8-byte aligned, as the reference writer does.
 */
export function encodeHeader(
  items: { name: string; dtype: Dtype; shape: number[]; byteLength: number }[],
  metadata: Record<string, string> | undefined,
  who: string,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new Error(`${who}: metadata "${k}" is ${typeof v}; metadata values must be strings`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const it of items) {
    header[it.name] = { dtype: it.dtype, shape: it.shape, data_offsets: [offset, offset + it.byteLength] };
    offset += it.byteLength;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - ((8 + jsonBytes) % 8)) % 8);
  const n = Buffer.byteLength(json, 'utf8');
  const out = Buffer.alloc(8 + n);
  out.writeBigUInt64LE(BigInt(n));
  out.write(json, 8, 'utf8');
  return out;
}
