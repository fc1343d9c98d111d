// The `wasm-simd` backend: our own SIMD sgemm kernel (src/engine/wasm/assembly/gemm.ts), for machines
// without a system BLAS. Operands are copied into the module's linear memory, multiplied there, and the
// result is copied back; the memory is kept and reused, growing to the largest product seen.
import { readFileSync } from 'node:fs';
import type { GemmBackend } from './gemm.js';

/** The module's exports (pointers are byte addresses into `memory`). */
interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  workBytes(): number;
  sgemm(transA: number, transB: number, M: number, N: number, K: number, alpha: number,
        a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number, work: number): void;
}

export type WasmBuild = 'relaxed' | 'baseline';

export interface WasmGemmOptions {
  /** Which compiled kernel: 'relaxed' (fused multiply-add; needs relaxed SIMD) or 'baseline'. Default: the
   *  relaxed one where this runtime validates it. */
  build?: WasmBuild;
  /** Most bytes of operands copied into wasm memory for one call; larger products run in pieces. */
  maxBytes?: number;
}

const files: Record<WasmBuild, URL> = {
  relaxed: new URL('./wasm/gemm-relaxed.wasm', import.meta.url),
  baseline: new URL('./wasm/gemm.wasm', import.meta.url),
};

/** Compiles and warms up the kernel; throws if this runtime lacks WebAssembly SIMD or the build is missing. */
export function loadWasmGemm(options: WasmGemmOptions = {}): GemmBackend {
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
  if (!code) {
    throw new Error(`${files[build].pathname} is missing: run \`npm run build\` (scripts/build-wasm.mjs compiles it)`);
  }
  if (!WebAssembly.validate(code)) {
    throw new Error(`this runtime cannot run ${files[build].pathname} (no WebAssembly ${build === 'relaxed' ? 'relaxed ' : ''}SIMD)`);
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(code), {});
  const kernel = new WasmKernel(instance.exports as unknown as KernelExports, options.maxBytes ?? 1 << 30);
  return {
    name: 'wasm-simd',
    threads: 1,
    detail: `WebAssembly SIMD${build === 'relaxed' ? ' + relaxed FMA' : ''} kernel ${files[build].pathname}, 1 thread`,
    sgemm: kernel.sgemm.bind(kernel),
  };
}

class WasmKernel {
  private heap: Float32Array;
  private readonly work: number; // byte address of the kernel's packing scratch
  private readonly operands: number; // float index where copied operands start

  constructor(private readonly wasm: KernelExports, private readonly maxBytes: number) {
    this.work = align(wasm.heapBase(), 64);
    this.operands = align(this.work + wasm.workBytes(), 64) / 4;
    this.heap = new Float32Array(wasm.memory.buffer);
    // NOTE: V8 first runs wasm through its baseline compiler (Liftoff, several times slower here) and
    // swaps in optimized code only after enough calls; without this warm-up a training run's first
    // large product took ~1.2 s instead of ~0.07 s.
    for (let i = 0; i < 40; i++) this.sgemm(false, false, 32, 32, 32, 1, zeros, 0, 32, zeros, 0, 32, 0, scratch, 0, 32);
  }

  sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
        A: Float32Array, aOff: number, lda: number, B: Float32Array, bOff: number, ldb: number,
        beta: number, C: Float32Array, cOff: number, ldc: number): void {
    if (4 * (M * K + K * N + M * N) > this.maxBytes && Math.max(M, N, K) > 1) {
      return this.split(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
    }
    const [aRows, aCols] = transA ? [K, M] : [M, K];
    const [bRows, bCols] = transB ? [N, K] : [K, N];
    const a = this.operands, b = a + aRows * aCols, c = b + bRows * bCols;
    this.reserve(c + M * N);
    const heap = this.heap;
    copyIn(heap, a, A, aOff, lda, aRows, aCols);
    copyIn(heap, b, B, bOff, ldb, bRows, bCols);
    if (beta !== 0) copyIn(heap, c, C, cOff, ldc, M, N);
    this.wasm.sgemm(+transA, +transB, M, N, K, alpha, a * 4, aCols, b * 4, bCols, beta, c * 4, N, this.work);
    copyOut(C, cOff, ldc, heap, c, M, N);
  }

  /** Halves the largest of M, N, K and runs both halves (K halves accumulate: the second uses beta = 1). */
  private split(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
                A: Float32Array, aOff: number, lda: number, B: Float32Array, bOff: number, ldb: number,
                beta: number, C: Float32Array, cOff: number, ldc: number): void {
    if (M >= N && M >= K) {
      const h = M >> 1;
      this.sgemm(transA, transB, h, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      this.sgemm(transA, transB, M - h, N, K, alpha, A, aOff + (transA ? h : h * lda), lda, B, bOff, ldb,
        beta, C, cOff + h * ldc, ldc);
    } else if (N >= K) {
      const h = N >> 1;
      this.sgemm(transA, transB, M, h, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      this.sgemm(transA, transB, M, N - h, K, alpha, A, aOff, lda, B, bOff + (transB ? h * ldb : h), ldb,
        beta, C, cOff + h, ldc);
    } else {
      const h = K >> 1;
      this.sgemm(transA, transB, M, N, h, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
      this.sgemm(transA, transB, M, N, K - h, alpha, A, aOff + (transA ? h * lda : h), lda,
        B, bOff + (transB ? h : h * ldb), ldb, 1, C, cOff, ldc);
    }
  }

  /** Grows linear memory to hold `floats` floats; the Float32Array view must be remade after a grow. */
  private reserve(floats: number): void {
    const memory = this.wasm.memory;
    const missing = floats * 4 - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    if (this.heap.buffer !== memory.buffer) this.heap = new Float32Array(memory.buffer);
  }
}

const zeros = new Float32Array(32 * 32);
const scratch = new Float32Array(32 * 32);

function align(bytes: number, to: number): number {
  return Math.ceil(bytes / to) * to;
}

// ---- copies between strided JS operands and dense copies in wasm memory ----

// Below this row length a plain loop beats making a subarray view per row for TypedArray.set.
const SHORT_ROW = 48;

/** heap[at …] = the rows×cols block of src starting at src[off], rows `ld` apart, packed densely. */
function copyIn(heap: Float32Array, at: number, src: Float32Array, off: number, ld: number,
                rows: number, cols: number): void {
  if (ld === cols || rows === 1) {
    heap.set(src.subarray(off, off + rows * cols), at);
  } else if (cols >= SHORT_ROW) {
    for (let r = 0; r < rows; r++) heap.set(src.subarray(off + r * ld, off + r * ld + cols), at + r * cols);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = off + r * ld, d = at + r * cols;
      for (let j = 0; j < cols; j++) heap[d + j] = src[s + j];
    }
  }
}

/** The inverse of copyIn: the dense rows×cols block at heap[at] into dst from dst[off], rows `ld` apart. */
function copyOut(dst: Float32Array, off: number, ld: number, heap: Float32Array, at: number,
                 rows: number, cols: number): void {
  if (ld === cols || rows === 1) {
    dst.set(heap.subarray(at, at + rows * cols), off);
  } else if (cols >= SHORT_ROW) {
    for (let r = 0; r < rows; r++) dst.set(heap.subarray(at + r * cols, at + (r + 1) * cols), off + r * ld);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = at + r * cols, d = off + r * ld;
      for (let j = 0; j < cols; j++) dst[d + j] = heap[s + j];
    }
  }
}
