// The `wasm-simd` backend: our own SIMD sgemm kernel (src/engine/wasm/assembly/gemm.ts), for machines
// without a system BLAS. Operands are copied into the module's linear memory, multiplied there, and the
// result is copied back; the memory is kept and reused, growing to the largest product seen. Large
// products are split by rows (or columns) of C between this thread and worker threads on the same memory.
import { readFileSync } from 'node:fs';
import type { GemmBackend } from './gemm-backend.js';
import { type KernelArgs, type Kernels, kernelsOf, WorkerPool } from './wasm/threads.js';

/** The module's exports (pointers are byte addresses into the shared memory). */
interface KernelExports {
  heapBase(): number;
  workBytes(): number;
  sgemm(...args: KernelArgs): void;
  gemvF32(...args: KernelArgs): void;
  gemvBf16(...args: KernelArgs): void;
}

export type WasmBuild = 'relaxed' | 'baseline';

export interface WasmGemmOptions {
  /** Which compiled kernel: 'relaxed' (fused multiply-add; needs relaxed SIMD) or 'baseline'. Default: the
   *  relaxed one where this runtime validates it. */
  build?: WasmBuild;
  /** Threads for large products, this one included (default 1: no workers). */
  threads?: number;
  /** Most bytes of operands copied into wasm memory for one call (default and limit 1 GiB); larger
   *  products run in pieces. */
  maxBytes?: number;
}

const files: Record<WasmBuild, URL> = {
  relaxed: new URL('./wasm/gemm-relaxed.wasm', import.meta.url),
  baseline: new URL('./wasm/gemm.wasm', import.meta.url),
};
// The memory is shared, so it cannot move: V8 reserves (address space only) its maximum up front.
const MAX_PAGES = 32768; // 2 GiB
// Below ~8 MFLOP (~0.3 ms on one core) waking a worker gains little on an idle machine (~1.4x at 4 MFLOP)
// and loses ~10% when the other cores are busy.
const MIN_THREADED_FLOPS = 8e6;

export interface WasmGemmBackend extends GemmBackend {
  /** Workers started so far: they start in the background, and until then products run on fewer threads. */
  workersReady(): number;
}

/** Compiles and warms up the kernel; throws if this runtime lacks WebAssembly SIMD or the build is missing. */
export function loadWasmGemm(options: WasmGemmOptions = {}): WasmGemmBackend {
  if (typeof WebAssembly === 'undefined') throw new Error('this runtime has no WebAssembly');
  const bytes: Partial<Record<WasmBuild, Uint8Array<ArrayBuffer>>> = {};
  for (const build of ['relaxed', 'baseline'] as const) {
    try {
      bytes[build] = new Uint8Array(readFileSync(files[build]));
    } catch {
      // reported below if no build is usable
    }
  }
  const build = options.build ?? (bytes.relaxed && WebAssembly.validate(bytes.relaxed) ? 'relaxed' : 'baseline');
  const code = bytes[build];
  const path = files[build].pathname;
  if (!code) throw new Error(`${path} is missing: run \`npm run build\` (scripts/build-wasm.mjs compiles it)`);
  if (!WebAssembly.validate(code)) {
    throw new Error(`this runtime cannot run ${path} (no WebAssembly ${build === 'relaxed' ? 'relaxed ' : ''}SIMD)`);
  }
  const module = new WebAssembly.Module(code);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  const threads = Math.max(1, Math.floor(options.threads ?? 1));
  const kernel = new WasmKernel(module, exports, memory, threads, Math.min(options.maxBytes ?? 1 << 30, 1 << 30));
  return {
    name: 'wasm-simd',
    threads,
    detail:
      `WebAssembly SIMD${build === 'relaxed' ? ' + relaxed FMA' : ''} kernel ${path}, ${threads} ` +
      `thread${threads > 1 ? 's' : ''}`,
    sgemm: kernel.sgemm.bind(kernel),
    workersReady: () => kernel.workersReady(),
  };
}

class WasmKernel {
  private heap: Float32Array;
  private readonly work: number; // byte address of this thread's packing scratch
  private readonly operands: number; // float index where copied operands start
  private readonly pool: WorkerPool | undefined;
  private readonly kernels: Kernels;

  constructor(
    module: WebAssembly.Module,
    private readonly wasm: KernelExports,
    private readonly memory: WebAssembly.Memory,
    threads: number,
    private readonly maxBytes: number,
  ) {
    // Linear memory: static data | packing scratch for each thread | copies of A, B, C.
    const scratch = align(wasm.workBytes(), 64);
    this.work = align(wasm.heapBase(), 64);
    this.operands = (this.work + scratch * threads) / 4;
    this.heap = new Float32Array(memory.buffer);
    this.kernels = kernelsOf(wasm);
    this.reserve(this.operands);
    const workers = Array.from({ length: threads - 1 }, (_, w) => this.work + scratch * (w + 1));
    this.pool = workers.length ? new WorkerPool(module, memory, workers) : undefined;
    // NOTE: V8 first runs wasm through its baseline compiler (Liftoff, several times slower here) and
    // swaps in optimized code only after enough calls; without this warm-up a training run's first
    // large product took ~1.2 s instead of ~0.07 s.
    const zeros = new Float32Array(32 * 32);
    for (let i = 0; i < 40; i++) this.sgemm(false, false, 32, 32, 32, 1, zeros, 0, 32, zeros, 0, 32, 0, zeros, 0, 32);
  }

  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    aOff: number,
    lda: number,
    B: Float32Array,
    bOff: number,
    ldb: number,
    beta: number,
    C: Float32Array,
    cOff: number,
    ldc: number,
  ): void {
    if (4 * (M * K + K * N + M * N) > this.maxBytes && Math.max(M, N, K) > 1) {
      this.split(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      return;
    }
    const [aRows, aCols] = transA ? [K, M] : [M, K];
    const [bRows, bCols] = transB ? [N, K] : [K, N];
    const a = this.operands,
      b = a + aRows * aCols,
      c = b + bRows * bCols;
    this.reserve(c + M * N);
    const heap = this.heap;
    copyIn(heap, a, A, aOff, lda, aRows, aCols);
    copyIn(heap, b, B, bOff, ldb, bRows, bCols);
    if (beta !== 0) copyIn(heap, c, C, cOff, ldc, M, N);
    this.multiply([+transA, +transB, M, N, K, alpha, a * 4, aCols, b * 4, bCols, beta, c * 4, N, this.work]);
    copyOut(C, cOff, ldc, heap, c, M, N);
  }

  /** Runs the kernel on dense operands in wasm memory, sharing large products with the workers. */
  private multiply(args: KernelArgs): void {
    const [, , M, N, K] = args;
    const helpers = this.pool && 2 * M * N * K >= MIN_THREADED_FLOPS ? this.pool.ready() : 0;
    if (helpers === 0) {
      this.wasm.sgemm(...args);
      return;
    }
    // About four slices a thread, so a core that is busy with something else ends up taking fewer; each
    // slice is whole micro-tiles (4 rows or 8 columns) and re-packs only the other operand's panel.
    const byRows = M >= N;
    const step = byRows ? 4 : 8,
      extent = byRows ? M : N;
    const size = Math.ceil(extent / (4 * (helpers + 1)) / step) * step;
    // At 1 GFLOP/s the slowest machine imaginable; past that a worker is stuck, not slow.
    const timeoutMs = 10_000 + (2 * M * N * K) / 1e6;
    this.pool!.run(args, byRows, size, Math.ceil(extent / size), this.work, this.kernels, timeoutMs);
  }

  workersReady(): number {
    return this.pool?.ready() ?? 0;
  }

  /** Halves the largest of M, N, K and runs both halves (K halves accumulate: the second uses beta = 1). */
  private split(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    A: Float32Array,
    aOff: number,
    lda: number,
    B: Float32Array,
    bOff: number,
    ldb: number,
    beta: number,
    C: Float32Array,
    cOff: number,
    ldc: number,
  ): void {
    if (M >= N && M >= K) {
      const h = M >> 1;
      this.sgemm(transA, transB, h, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      this.sgemm(
        transA,
        transB,
        M - h,
        N,
        K,
        alpha,
        A,
        aOff + (transA ? h : h * lda),
        lda,
        B,
        bOff,
        ldb,
        beta,
        C,
        cOff + h * ldc,
        ldc,
      );
    } else if (N >= K) {
      const h = N >> 1;
      this.sgemm(transA, transB, M, h, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      this.sgemm(
        transA,
        transB,
        M,
        N - h,
        K,
        alpha,
        A,
        aOff,
        lda,
        B,
        bOff + (transB ? h * ldb : h),
        ldb,
        beta,
        C,
        cOff + h,
        ldc,
      );
    } else {
      const h = K >> 1;
      this.sgemm(transA, transB, M, N, h, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      this.sgemm(
        transA,
        transB,
        M,
        N,
        K - h,
        alpha,
        A,
        aOff + (transA ? h * lda : h),
        lda,
        B,
        bOff + (transB ? h : h * ldb),
        ldb,
        1,
        C,
        cOff,
        ldc,
      );
    }
  }

  /** Grows the memory to hold `floats` floats. Only this thread grows it, and only between products. */
  private reserve(floats: number): void {
    const missing = floats * 4 - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / 65536));
    // A grown memory has a new, longer buffer; views of the old one still see only the old length.
    if (this.heap.length < floats) this.heap = new Float32Array(this.memory.buffer);
  }
}

function align(bytes: number, to: number): number {
  return Math.ceil(bytes / to) * to;
}

// ---- copies between strided JS operands and dense copies in wasm memory ----

// Below this row length a plain loop beats making a subarray view per row for TypedArray.set.
const SHORT_ROW = 48;

/** heap[at …] = the rows×cols block of src starting at src[off], rows `ld` apart, packed densely. */
function copyIn(
  heap: Float32Array,
  at: number,
  src: Float32Array,
  off: number,
  ld: number,
  rows: number,
  cols: number,
): void {
  if (ld === cols || rows === 1) {
    heap.set(src.subarray(off, off + rows * cols), at);
  } else if (cols >= SHORT_ROW) {
    for (let r = 0; r < rows; r++) heap.set(src.subarray(off + r * ld, off + r * ld + cols), at + r * cols);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = off + r * ld,
        d = at + r * cols;
      for (let j = 0; j < cols; j++) heap[d + j] = src[s + j];
    }
  }
}

/** The inverse of copyIn: the dense rows×cols block at heap[at] into dst from dst[off], rows `ld` apart. */
function copyOut(
  dst: Float32Array,
  off: number,
  ld: number,
  heap: Float32Array,
  at: number,
  rows: number,
  cols: number,
): void {
  if (ld === cols || rows === 1) {
    dst.set(heap.subarray(at, at + rows * cols), off);
  } else if (cols >= SHORT_ROW) {
    for (let r = 0; r < rows; r++) dst.set(heap.subarray(at + r * cols, at + (r + 1) * cols), off + r * ld);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = at + r * cols,
        d = off + r * ld;
      for (let j = 0; j < cols; j++) dst[d + j] = heap[s + j];
    }
  }
}
