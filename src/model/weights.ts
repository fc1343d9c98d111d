// Model weights as Hugging Face stores them: model.safetensors, or shards listed by
// model.safetensors.index.json (as transformers' save_pretrained writes them), in F32, F16 or BF16.
// They are read into float32 whatever the file holds, and written in any of the three.
//
// NOTE: a 0.5B-parameter checkpoint is 1 GB in BF16 and 2 GB as float32. Reading goes from the file
// straight into each tensor's Float32Array (F32), or through one reusable chunk (16 bits); writing
// converts through one chunk too. No file is held whole in memory or passed through a string.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { bf16Into, bf16ToF32Into, f16Into, f16ToF32Into } from './half.js';
import { writeAll, writeFileAtomically } from './safetensors.js';
import {
  DTYPE_BYTES,
  type TensorEntry,
  assertLittleEndian,
  encodeHeader,
  headerLength,
  numel,
  parseHeader,
} from './safetensors-header.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
export const WEIGHT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

export interface ModelTensor {
  shape: number[];
  data: Float32Array;
  /** What the file stored; data is float32 whatever it was. */
  dtype: WeightDtype;
}

/** The shards transformers writes: model-00001-of-00003.safetensors, … */
const SHARD_FILE = /^model-\d{5}-of-\d{5}\.safetensors$/;
// Elements per conversion chunk (2 MB of 16-bit values): large enough that a read costs little per byte.
const CHUNK = 1 << 20;
// NOTE: fs.readSync refuses lengths of 2 GiB and more; a larger F32 tensor is read in pieces.
const MAX_IO = 1 << 30;

/** The file that holds a directory's weights: model.safetensors, else the index of shards, else null. */
export function findModelWeights(dir: string): string | null {
  for (const name of [WEIGHTS_FILE, WEIGHTS_INDEX_FILE]) if (fs.existsSync(join(dir, name))) return join(dir, name);
  return null;
}

// ---- reading ----

/**
 * Every tensor of a checkpoint directory, as float32: model.safetensors, or (when there is none, as
 * transformers does) every shard that model.safetensors.index.json lists. Each listed shard must exist and
 * hold the tensors the index puts in it; dtypes other than F32, F16 and BF16 are refused.
 */
export function readModelTensors(dir: string): Map<string, ModelTensor> {
  assertLittleEndian();
  const out = new Map<string, ModelTensor>();
  const origin = new Map<string, string>();
  const chunk = new Uint16Array(CHUNK);
  const file = findModelWeights(dir);
  if (file === null) {
    throw new Error(
      `${dir}: neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE} (sharded weights) found; a checkpoint ` +
        `directory holds one of them (made by \`rlhf train …\` or Hugging Face save_pretrained)`,
    );
  }
  if (file.endsWith(WEIGHTS_FILE)) {
    readWeightsFile(file, out, origin, chunk);
    return out;
  }
  const byShard = readIndex(file);
  const missing = [...byShard.keys()].filter((shard) => !fs.existsSync(join(dir, shard)));
  if (missing.length) {
    const [shard] = missing;
    const names = byShard.get(shard)!;
    throw new Error(
      `${file}: shard ${shard} (holding "${names[0]}"${names.length > 1 ? ` and ${names.length - 1} more` : ''}) ` +
        `not found in ${dir}${missing.length > 1 ? `; also missing: ${missing.slice(1).join(', ')}` : ''}; ` +
        `download every file the index lists`,
    );
  }
  for (const [shard, names] of byShard) {
    const shardFile = join(dir, shard);
    const got = new Set(readWeightsFile(shardFile, out, origin, chunk));
    const absent = names.filter((n) => !got.has(n));
    if (absent.length) {
      throw new Error(
        `${file}: lists tensor "${absent[0]}"${absent.length > 1 ? ` (and ${absent.length - 1} more)` : ''} in ` +
          `${shard}, but ${shardFile} has no such tensor; the shard and the index are from different saves`,
      );
    }
  }
  return out;
}

/** The index's weight_map grouped by shard file, in order of first appearance. */
function readIndex(file: string): Map<string, string[]> {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const map = (j as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new Error(`${file}: has no "weight_map" object (tensor name → shard file), as save_pretrained writes`);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    // NOTE: shards live beside the index; a path elsewhere would read files the user never meant to give.
    if (typeof shard !== 'string' || shard === '' || /[/\\]/.test(shard) || shard === '..') {
      throw new Error(
        `${file}: weight_map["${name}"] is ${JSON.stringify(shard)}; it must be a file name in the same directory`,
      );
    }
    if (!byShard.has(shard)) byShard.set(shard, []);
    byShard.get(shard)!.push(name);
  }
  return byShard;
}

/** Reads every tensor of one safetensors file into `out`; returns their names. */
function readWeightsFile(
  file: string,
  out: Map<string, ModelTensor>,
  origin: Map<string, string>,
  chunk: Uint16Array,
): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const first8 = new Uint8Array(8);
    if (size >= 8) readExact(fd, first8, 0, file, 'header length');
    const n = headerLength(first8, size, file);
    const json = new Uint8Array(n);
    readExact(fd, json, 8, file, 'header');
    const { entries } = parseHeader(json, size - 8 - n, file, { supported: WEIGHT_DTYPES, purpose: 'model weights' });
    // In file order, so the disk reads sequentially.
    entries.sort((a, b) => a.begin - b.begin);
    for (const e of entries) {
      const prev = origin.get(e.name);
      if (prev !== undefined)
        throw new Error(`${file}: tensor "${e.name}" is also in ${prev}; a tensor must be in one shard`);
      out.set(e.name, { shape: e.shape, dtype: e.dtype as WeightDtype, data: readTensor(fd, file, e, 8 + n, chunk) });
      origin.set(e.name, file);
    }
    return entries.map((e) => e.name);
  } finally {
    fs.closeSync(fd);
  }
}

function readTensor(fd: number, file: string, e: TensorEntry, dataStart: number, chunk: Uint16Array): Float32Array {
  const count = numel(e.shape);
  const out = new Float32Array(count);
  const at = dataStart + e.begin;
  const what = `tensor "${e.name}"`;
  if (e.dtype === 'F32') {
    readExact(fd, new Uint8Array(out.buffer), at, file, what);
    return out;
  }
  const convert = e.dtype === 'BF16' ? bf16ToF32Into : f16ToF32Into;
  const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  for (let i = 0; i < count; i += chunk.length) {
    const m = Math.min(chunk.length, count - i);
    readExact(fd, bytes.subarray(0, 2 * m), at + 2 * i, file, what);
    convert(chunk.subarray(0, m), out, i);
  }
  return out;
}

function readExact(fd: number, into: Uint8Array, position: number, file: string, what: string): void {
  let done = 0;
  while (done < into.length) {
    const got = fs.readSync(fd, into, done, Math.min(MAX_IO, into.length - done), position + done);
    if (got === 0)
      throw new Error(`safetensors ${file}: ${what}: the file ends at byte ${position + done}; it is truncated`);
    done += got;
  }
}

// ---- writing ----

export interface WriteWeightsOptions {
  /** The dtype stored (default F32). BF16 and F16 round to nearest, ties to even, as PyTorch does. */
  dtype?: WeightDtype;
  /**
   * The largest shard, in bytes (parseByteSize reads "2GB", "500MB"). Tensors that do not fit in one file
   * are split into model-0000i-of-0000N.safetensors shards with an index, as save_pretrained does. Default:
   * one file.
   */
  maxShardBytes?: number;
}

export interface WrittenWeights {
  /** File names written in the directory: model.safetensors, or the shards and then the index. */
  files: string[];
  /** Bytes of tensor data, in the stored dtype (the index's metadata.total_size). */
  totalSize: number;
}

interface Planned {
  name: string;
  shape: number[];
  data: Float32Array;
  byteLength: number;
}

/**
 * Writes float32 tensors as model.safetensors (header metadata {format: "pt"}, as transformers expects),
 * or as shards plus model.safetensors.index.json when they exceed maxShardBytes. Every file is written
 * atomically; weight files of an earlier save that this one replaces (a single file, an index, shards of
 * another count) are removed afterwards, so readers never mix two saves.
 */
export function writeModelTensors(
  dir: string,
  tensors:
    | Map<string, { shape: number[]; data: Float32Array }>
    | Record<string, { shape: number[]; data: Float32Array }>,
  opts: WriteWeightsOptions = {},
): WrittenWeights {
  assertLittleEndian();
  const dtype = opts.dtype ?? 'F32';
  if (!WEIGHT_DTYPES.includes(dtype))
    throw new Error(`writeModelTensors: dtype ${JSON.stringify(dtype)}; supported: ${WEIGHT_DTYPES.join(', ')}`);
  const max = opts.maxShardBytes;
  if (max !== undefined && !(Number.isSafeInteger(max) && max > 0))
    throw new Error(`writeModelTensors: maxShardBytes must be a positive integer, got ${max}`);
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const items: Planned[] = entries.map(([name, t]) => {
    if (name === '__metadata__') throw new Error('writeModelTensors: "__metadata__" is not a tensor name');
    if (!(t.data instanceof Float32Array))
      throw new Error(
        `writeModelTensors: tensor "${name}" data is a ${(t.data as object | undefined)?.constructor?.name}; ` +
          'want a Float32Array',
      );
    if (
      !Array.isArray(t.shape) ||
      !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      numel(t.shape) !== t.data.length
    )
      throw new Error(
        `writeModelTensors: tensor "${name}" shape ${JSON.stringify(t.shape)} does not fit its ${t.data.length} values`,
      );
    return { name, shape: t.shape, data: t.data, byteLength: t.data.length * DTYPE_BYTES[dtype] };
  });

  // As huggingface_hub's split_state_dict_into_shards: in order, a new shard when the next tensor would
  // overflow this one; a tensor larger than the limit gets a shard of its own.
  const shards: Planned[][] = [];
  let cur: Planned[] = [];
  let curBytes = 0;
  for (const it of items) {
    if (max !== undefined && it.byteLength > max) {
      shards.push([it]);
      continue;
    }
    if (max !== undefined && cur.length && curBytes + it.byteLength > max) {
      shards.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(it);
    curBytes += it.byteLength;
  }
  if (cur.length || !shards.length) shards.push(cur);

  fs.mkdirSync(dir, { recursive: true });
  const chunk = new Uint16Array(CHUNK);
  const totalSize = items.reduce((s, it) => s + it.byteLength, 0);
  const pad = (i: number) => String(i).padStart(5, '0');
  const names =
    shards.length === 1
      ? [WEIGHTS_FILE]
      : shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  shards.forEach((shard, i) => writeShard(join(dir, names[i]), shard, dtype, chunk));
  const files = [...names];
  if (shards.length > 1) {
    const weightMap: Record<string, string> = {};
    const byName = shards.flatMap((shard, i) => shard.map((it) => [it.name, names[i]] as const));
    for (const [name, file] of byName.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) weightMap[name] = file;
    // As save_pretrained: json.dumps(index, indent=2, sort_keys=True) + "\n".
    const text = JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2) + '\n';
    writeFileAtomically(join(dir, WEIGHTS_INDEX_FILE), 'writeModelTensors', (fd) => writeAll(fd, Buffer.from(text)));
    files.push(WEIGHTS_INDEX_FILE);
  }
  for (const f of fs.readdirSync(dir)) {
    const stale = (f === WEIGHTS_FILE || f === WEIGHTS_INDEX_FILE || SHARD_FILE.test(f)) && !files.includes(f);
    if (stale) fs.rmSync(join(dir, f), { force: true });
  }
  return { files, totalSize };
}

function writeShard(file: string, items: Planned[], dtype: WeightDtype, chunk: Uint16Array): void {
  const head = encodeHeader(
    items.map((it) => ({ name: it.name, dtype, shape: it.shape, byteLength: it.byteLength })),
    { format: 'pt' },
    'writeModelTensors',
  );
  const convert = dtype === 'BF16' ? bf16Into : f16Into;
  writeFileAtomically(file, 'writeModelTensors', (fd) => {
    writeAll(fd, head);
    for (const { data } of items) {
      if (dtype === 'F32') {
        for (let at = 0; at < data.byteLength; at += MAX_IO) {
          const len = Math.min(MAX_IO, data.byteLength - at);
          writeAll(fd, new Uint8Array(data.buffer, data.byteOffset + at, len));
        }
        continue;
      }
      for (let i = 0; i < data.length; i += chunk.length) {
        const m = Math.min(chunk.length, data.length - i);
        convert(data.subarray(i, i + m), chunk.subarray(0, m));
        writeAll(fd, new Uint8Array(chunk.buffer, chunk.byteOffset, 2 * m));
      }
    }
  });
}

/**
 * A size as transformers' `max_shard_size` spells it: "5GB" (10^9), "500MB", "100KB", "2GiB" (2^30), "512MiB",
 * "64KiB", or a plain number of bytes. As there, a lowercase final "b" means bits ("5Gb" is 5·10^9 / 8 bytes).
 */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+)\s*(?:([KMG])(i?)([Bb]))?\s*$/i.exec(text);
  const bad = () =>
    new Error(`size ${JSON.stringify(text)}: expected an integer followed by a unit, e.g. "5GB", "500MB", "2GiB"`);
  if (!m) throw bad();
  const [, digits, prefix, binary, b] = m;
  const n = Number(digits);
  if (!Number.isSafeInteger(n) || n <= 0) throw bad();
  if (!prefix) return n;
  const power = { K: 1, M: 2, G: 3 }[prefix.toUpperCase() as 'K' | 'M' | 'G'];
  const bytes = n * (binary ? 2 ** (10 * power) : 10 ** (3 * power));
  return !binary && b === 'b' ? Math.floor(bytes / 8) : bytes;
}
