// Weights kept in WebAssembly memory for the decode step of sampling. Each new token is one row per sequence,
// so a step is a product of a few rows with every weight matrix of the model: the weights are streamed once,
// and a BLAS sgemm (which packs a copy of the weights on every call) spends most of the step moving memory.
// Here the linear layers' weights are copied once per sampling run (again only when they changed) into the
// memory of the wasm kernels, laid out N×K, as float32 or bfloat16, and the steps run gemv.ts on them, split
// by output columns between this thread and worker threads on the same memory.
//
// Every product still takes the ordinary path (ops.linear) when the weights here are missing or stale, so
// this is only ever a faster way to the same result: float32 copies give the sgemm's values up to the order
// of additions; bfloat16 copies round each weight to 8 bits of mantissa (exact for checkpoints stored in
// BF16, which most Hugging Face models are).
import { readFileSync } from 'node:fs';
import { computeThreads } from './parallel.js';
import type { Tensor } from './tensor.js';
import { type KernelArgs, KernelKind, type Kernels, kernelsOf, WorkerPool } from './wasm/threads.js';

export type DecodeDtype = 'float32' | 'bfloat16';

/** One weight matrix: y = x·W with W stored (in, out) as GPT-2's Conv1D, or (out, in) as nn.Linear. */
export interface DecodeWeight {
  tensor: Tensor;
  outIn: boolean;
}

/** Products of at most this many rows run here; larger ones (prefill, big batches) are sgemm's. */
export const DECODE_MAX_ROWS = 8;
// Largest memory the kernels address: wasm32's 4 GiB.
const MAX_PAGES = 65536;
// Below this many weights a product runs on one thread: waking a worker costs more than it saves.
const MIN_THREADED_WEIGHTS = 1 << 18;
// Values compared at load and at every use: a weight changed without a version bump (any in-place write
// other than an optimizer step or copyFrom) is caught here and falls back to sgemm instead of going stale.
const PROBES = 16;

interface Entry {
  outIn: boolean;
  at: number; // byte address of the N×K copy
  n: number;
  k: number;
  version: number;
  probes: Float32Array;
}

interface Exports {
  heapBase(): number;
  sgemm(...args: KernelArgs): void;
  gemvF32(...args: KernelArgs): void;
  gemvBf16(...args: KernelArgs): void;
}

export class DecodeWeights {
  private readonly entries = new Map<Tensor, Entry>();
  private readonly kernels: Kernels;
  private readonly pool: WorkerPool | undefined;
  private readonly base: number;
  private dtype: DecodeDtype = 'float32';
  private io = 0; // byte address of the rows in (DECODE_MAX_ROWS × max K) and out (DECODE_MAX_ROWS × max N)
  private top: number;

  constructor(
    module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory,
    private readonly wasm: Exports,
    threads: number,
  ) {
    this.kernels = kernelsOf(wasm);
    this.base = this.top = Math.ceil(wasm.heapBase() / 64) * 64;
    this.pool = threads > 1 ? new WorkerPool(module, memory, new Array(threads - 1).fill(0)) : undefined;
    // NOTE: V8 runs wasm through its baseline compiler first and swaps in optimized code after enough calls;
    // without a warm-up the first sampling run's steps were several times slower.
    const need = this.base + 3 * 64 * 64 * 4 - memory.buffer.byteLength;
    if (need > 0) memory.grow(Math.ceil(need / 65536));
    const [x, w, y] = [0, 1, 2].map((i) => this.base + i * 64 * 64 * 4);
    for (let i = 0; i < 40; i++)
      for (const kind of [KernelKind.gemvF32, KernelKind.gemvBf16])
        this.kernels[kind](0, 1, 4, 64, 64, 1, x, 64, w, 64, 0, y, 64, 0);
  }

  get threads(): number {
    return (this.pool?.size ?? 0) + 1;
  }

  /** Bytes held by the copies. */
  get bytes(): number {
    return this.top - this.base;
  }

  /** True when every weight's copy is here, of this dtype, and current. */
  holds(weights: DecodeWeight[], dtype: DecodeDtype): boolean {
    return dtype === this.dtype && weights.every((w) => this.current(w.tensor) !== undefined);
  }

  /**
   * Replaces the copies with these weights' (the model about to be sampled). Returns false, keeping
   * nothing, when they do not fit in the 4 GiB that the kernels address or the memory cannot be had.
   */
  load(weights: DecodeWeight[], dtype: DecodeDtype): boolean {
    this.entries.clear();
    this.dtype = dtype;
    const size = dtype === 'bfloat16' ? 2 : 4;
    let top = this.base,
      maxK = 0,
      maxN = 0;
    const layout = weights.map(({ tensor, outIn }) => {
      const [r, c] = tensor.shape;
      const [n, k] = outIn ? [r, c] : [c, r];
      maxK = Math.max(maxK, k);
      maxN = Math.max(maxN, n);
      const at = top;
      top = align(top + n * k * size);
      return { tensor, outIn, at, n, k };
    });
    const io = top;
    top = align(io + DECODE_MAX_ROWS * (maxK + maxN) * 4);
    if (top > MAX_PAGES * 65536) {
      this.top = this.base;
      return false;
    }
    const missing = top - this.memory.buffer.byteLength;
    try {
      if (missing > 0) this.memory.grow(Math.ceil(missing / 65536));
    } catch {
      // The machine could not give the memory: sampling stays on the BLAS path.
      this.top = this.base;
      return false;
    }
    const buffer = this.memory.buffer;
    for (const { tensor, outIn, at, n, k } of layout) {
      if (size === 4) copyF32(tensor.data, outIn, n, k, new Float32Array(buffer, at, n * k));
      else copyBf16(tensor.data, outIn, n, k, new Uint16Array(buffer, at, n * k));
      this.entries.set(tensor, { outIn, at, n, k, version: tensor.version, probes: probe(tensor.data) });
    }
    this.io = io;
    this.top = top;
    return true;
  }

  /** Drops every copy (the memory stays reserved for the next load). */
  clear(): void {
    this.entries.clear();
    this.top = this.base;
  }

  /**
   * y (rows × N) = x (rows × K) · W, or y += x · W when accumulate, if W's copy is here and current;
   * false (nothing done) otherwise.
   */
  multiply(x: Float32Array, rows: number, w: Tensor, outIn: boolean, y: Float32Array, accumulate: boolean): boolean {
    const e = rows <= DECODE_MAX_ROWS ? this.current(w) : undefined;
    if (!e || e.outIn !== outIn) return false;
    const { n, k } = e;
    const buffer = this.memory.buffer;
    const xAt = this.io,
      yAt = this.io + DECODE_MAX_ROWS * k * 4;
    new Float32Array(buffer, xAt, rows * k).set(x.subarray(0, rows * k));
    const out = new Float32Array(buffer, yAt, rows * n);
    if (accumulate) out.set(y.subarray(0, rows * n));
    const kind = this.dtype === 'bfloat16' ? KernelKind.gemvBf16 : KernelKind.gemvF32;
    const args: KernelArgs = [0, 1, rows, n, k, 1, xAt, k, e.at, k, accumulate ? 1 : 0, yAt, n, 0];
    const helpers = this.pool && n * k >= MIN_THREADED_WEIGHTS ? this.pool.ready() : 0;
    if (helpers === 0) this.kernels[kind](...args);
    else {
      // Two slices a thread: a core busy with something else takes fewer.
      const size = Math.ceil(n / (2 * (helpers + 1)) / 8) * 8;
      this.pool!.run(args, false, size, Math.ceil(n / size), 0, this.kernels, 10_000 + (n * k) / 1e5, kind);
    }
    y.set(out);
    return true;
  }

  private current(w: Tensor): Entry | undefined {
    const e = this.entries.get(w);
    if (!e || e.version !== w.version) return undefined;
    const p = probe(w.data);
    for (let i = 0; i < p.length; i++) if (!Object.is(p[i], e.probes[i])) return undefined;
    return e;
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** PROBES values spread over the array. */
function probe(data: Float32Array): Float32Array {
  const out = new Float32Array(Math.min(PROBES, data.length));
  const step = data.length / out.length;
  for (let i = 0; i < out.length; i++) out[i] = data[Math.floor(i * step + step / 2)];
  return out;
}

// Transposes in square tiles so that both sides stay in cache.
const TILE = 64;

/** dst (N×K) = W, from W stored (N, K) (outIn) or (K, N). */
function copyF32(src: Float32Array, outIn: boolean, n: number, k: number, dst: Float32Array): void {
  if (outIn) {
    dst.set(src.subarray(0, n * k));
    return;
  }
  for (let k0 = 0; k0 < k; k0 += TILE)
    for (let n0 = 0; n0 < n; n0 += TILE) {
      const k1 = Math.min(k, k0 + TILE),
        n1 = Math.min(n, n0 + TILE);
      for (let i = n0; i < n1; i++) for (let j = k0; j < k1; j++) dst[i * k + j] = src[j * n + i];
    }
}

/** As copyF32, rounding each value to bfloat16 (to nearest, ties to even). */
function copyBf16(src: Float32Array, outIn: boolean, n: number, k: number, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const round = (u: number) => ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
  if (outIn) {
    for (let i = 0; i < n * k; i++) {
      const u = bits[i];
      // NOTE: a NaN must stay a NaN; rounding its payload could carry into the exponent and make ±Inf.
      dst[i] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : round(u);
    }
    return;
  }
  for (let k0 = 0; k0 < k; k0 += TILE)
    for (let n0 = 0; n0 < n; n0 += TILE) {
      const k1 = Math.min(k, k0 + TILE),
        n1 = Math.min(n, n0 + TILE);
      for (let i = n0; i < n1; i++)
        for (let j = k0; j < k1; j++) {
          const u = bits[j * n + i];
          dst[i * k + j] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : round(u);
        }
    }
}

let shared: DecodeWeights | null | undefined;

/** The decode weights if a sampling run has made them, without making them. */
export function loadedDecodeWeights(): DecodeWeights | null {
  return shared ?? null;
}

/** How sampling runs its decode steps unless told otherwise: RLHF_DECODE, or `--dtype` on sample and serve-model. */
let defaultDtype: DecodeDtype | 'off' | undefined;

export function decodeDtype(): DecodeDtype | 'off' {
  if (defaultDtype === undefined) defaultDtype = parseDecodeDtype(process.env.RLHF_DECODE || 'float32', 'RLHF_DECODE');
  return defaultDtype;
}

export function setDecodeDtype(dtype: DecodeDtype | 'off'): void {
  defaultDtype = dtype;
}

/** Reads float32, bfloat16 (bf16) or off; `what` names the flag or variable in the error. */
export function parseDecodeDtype(value: string, what: string): DecodeDtype | 'off' {
  const v = value.trim().toLowerCase();
  if (v === 'float32' || v === 'fp32' || v === 'f32') return 'float32';
  if (v === 'bfloat16' || v === 'bf16') return 'bfloat16';
  if (v === 'off') return 'off';
  throw new Error(`${what} ${value} is not a sampling dtype: use float32, bfloat16 or off`);
}

/**
 * The process's decode weights, made on first use; null where WebAssembly SIMD is missing (every product
 * then runs on the matrix-product backend).
 */
export function decodeWeights(): DecodeWeights | null {
  if (shared !== undefined) return shared;
  shared = null;
  if (typeof WebAssembly === 'undefined') return shared;
  try {
    const code = new Uint8Array(readFileSync(new URL('./wasm/gemm.wasm', import.meta.url)));
    if (!WebAssembly.validate(code)) return shared;
    const module = new WebAssembly.Module(code);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const wasm = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
    shared = new DecodeWeights(module, memory, wasm, computeThreads());
  } catch {
    shared = null;
  }
  return shared;
}
