// Matrix products for the engine: one sgemm interface over three backends, picked once per process.
//
//   openblas   cblas_sgemm from a system BLAS (OpenBLAS, or Accelerate on macOS) via koffi   ~120-210 GFLOP/s
//   wasm-simd  our own WebAssembly SIMD kernel (src/engine/wasm/assembly/gemm.ts)            ~22-35 GFLOP/s
//              a thread, ~30-50 with RLHF_BLAS_THREADS=2
//   js         plain loops; the last resort and the tests' second opinion                     ~1-2 GFLOP/s
// (2-core AVX-512 cloud VM, 1024³ and GPT-shaped 2048×384×128; bench/gemm-bench.mjs measures yours.)
//
// Env: RLHF_BLAS=openblas|wasm|js|auto (default auto: the first that loads, in that order),
//      RLHF_BLAS_LIB=/path/to/libopenblas.so (try only this library), RLHF_BLAS_THREADS=n (default 1).
import type { GemmBackend, GemmBackendName } from './gemm-backend.js';
import { loadOpenBLAS } from './gemm-openblas.js';
import { loadWasmGemm } from './gemm-wasm.js';

export type { GemmBackend, GemmBackendName };

// ---- selection ----

const backends = new Map<GemmBackendName, GemmBackend>();
let selected: GemmBackend | undefined;

/** The process's backend: RLHF_BLAS, or the fastest that loads. Chosen on first use, then cached. */
export function gemm(): GemmBackend {
  if (selected) return selected;
  const wanted = parseChoice(process.env.RLHF_BLAS);
  const failures: string[] = [];
  try {
    selected = wanted === 'auto' ? selectAuto(failures) : selectGemm(wanted);
  } catch (err) {
    if (wanted !== 'openblas' && !process.env.RLHF_BLAS_LIB) throw err;
    const asked = process.env.RLHF_BLAS_LIB ? `RLHF_BLAS_LIB=${process.env.RLHF_BLAS_LIB}` : `RLHF_BLAS=${wanted}`;
    throw new Error(
      `rlhf: ${asked} but ${(err as Error).message}. HINT: ${installHint()}, or unset ` +
        'RLHF_BLAS and RLHF_BLAS_LIB to use the portable WebAssembly kernel.',
    );
  }
  // NOTE: said once per process: worker threads (RLHF_WORKER) stay quiet.
  if (wanted === 'auto' && selected.name !== 'openblas' && process.env.RLHF_WORKER !== '1')
    process.stderr.write(fallbackNotice(selected, failures));
  return selected;
}

/** One backend by name (tests, benchmarks), or 'auto'. Throws if a named backend cannot load here. */
export function selectGemm(name: GemmBackendName | 'auto' = 'auto'): GemmBackend {
  if (name === 'auto') return selectAuto([]);
  let backend = backends.get(name);
  if (!backend) {
    const threads = threadCount();
    backend = checked(
      name === 'openblas'
        ? loadOpenBLAS({ library: process.env.RLHF_BLAS_LIB || undefined, threads })
        : name === 'wasm-simd'
          ? loadWasmGemm({ threads })
          : jsGemm,
    );
    backends.set(name, backend);
  }
  return backend;
}

function selectAuto(failures: string[]): GemmBackend {
  for (const name of ['openblas', 'wasm-simd'] as const) {
    try {
      return selectGemm(name);
    } catch (err) {
      // NOTE: an explicit RLHF_BLAS_LIB that fails is a configuration error, not a reason to run 8x slower.
      if (name === 'openblas' && process.env.RLHF_BLAS_LIB) throw err;
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  return selectGemm('js');
}

/**
 * Threads inside one matrix product: RLHF_BLAS_THREADS, default 1.
 * NOTE: measured here, a second OpenBLAS thread gains under 5% on this engine's products (≤ 2048×512×128)
 * and its idle thread spins, taking the core from everything else. The cores are used instead by data
 * parallelism (engine/parallel.ts, RLHF_THREADS), each thread running single-threaded products.
 */
function threadCount(): number {
  const env = process.env.RLHF_BLAS_THREADS;
  if (env === undefined || env === '') return 1;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`RLHF_BLAS_THREADS=${env} must be a whole number >= 1`);
  return n;
}

function parseChoice(value: string | undefined): GemmBackendName | 'auto' {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'openblas' || v === 'blas') return 'openblas';
  if (v === 'wasm' || v === 'wasm-simd') return 'wasm-simd';
  if (v === 'js') return 'js';
  throw new Error(`RLHF_BLAS=${value} is not a matrix-product backend. Use one of: openblas, wasm, js, auto.`);
}

function installHint(): string {
  return process.platform === 'darwin'
    ? 'on macOS the Accelerate framework should load; or `brew install openblas`'
    : process.platform === 'win32'
      ? 'install OpenBLAS and set RLHF_BLAS_LIB=C:\\path\\to\\libopenblas.dll'
      : 'install OpenBLAS: `sudo apt-get install libopenblas0` (Debian/Ubuntu) or `sudo dnf install openblas` (Fedora)';
}

function fallbackNotice(backend: GemmBackend, failures: string[]): string {
  const what =
    backend.name === 'wasm-simd' ? 'WebAssembly SIMD (~20-40 GFLOP/s a core)' : 'plain JavaScript (~1-2 GFLOP/s)';
  return (
    `rlhf: matrix products run on ${what}, as no BLAS library loaded (${failures.join('; ')}). ` +
    `For 5-10x faster ones ${installHint()}.\n`
  );
}

// ---- argument checks, shared by every backend ----

// NOTE: the openblas backend hands raw pointers to C, so an out-of-range operand would corrupt memory
// instead of throwing. Every call is checked here, before any backend sees it.
function checked(raw: GemmBackend): GemmBackend {
  return {
    name: raw.name,
    threads: raw.threads,
    detail: raw.detail,
    sgemm(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc) {
      checkDims(M, N, K, aOff, lda, bOff, ldb, cOff, ldc);
      checkOperand('A', A, aOff, lda, transA ? K : M, transA ? M : K, transA ? 'transA' : '');
      checkOperand('B', B, bOff, ldb, transB ? N : K, transB ? K : N, transB ? 'transB' : '');
      checkOperand('C', C, cOff, ldc, M, N, '');
      if (M === 0 || N === 0) return;
      if (K === 0 || alpha === 0) return scaleC(M, N, beta, C, cOff, ldc);
      raw.sgemm(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
    },
  };
}

function checkDims(...values: number[]): void {
  const names = ['M', 'N', 'K', 'aOff', 'lda', 'bOff', 'ldb', 'cOff', 'ldc'];
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`sgemm: ${names[i]} must be an integer >= 0, got ${v}`);
  });
}

/** A `rows`×`cols` operand stored row-major from X[off] with row stride ld must fit inside X. */
function checkOperand(
  name: string,
  X: Float32Array,
  off: number,
  ld: number,
  rows: number,
  cols: number,
  how: string,
): void {
  if (!(X instanceof Float32Array)) throw new TypeError(`sgemm: ${name} must be a Float32Array`);
  const stored = `${name} as stored${how ? ` (${how})` : ''} is ${rows}×${cols}`;
  if (ld < Math.max(1, cols)) {
    throw new RangeError(`sgemm: ld${name.toLowerCase()}=${ld} is less than the ${cols} columns: ${stored}`);
  }
  if (rows === 0 || cols === 0) return;
  const end = off + (rows - 1) * ld + cols;
  if (end > X.length) {
    throw new RangeError(
      `sgemm: ${stored} with leading dimension ${ld} from offset ${off} needs ` +
        `${end} elements, but ${name} has ${X.length}`,
    );
  }
}

/** C = beta·C over the M×N block; beta = 0 writes zeros (the BLAS convention: NaN in C is ignored). */
function scaleC(M: number, N: number, beta: number, C: Float32Array, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < M; i++) {
    const row = cOff + i * ldc;
    if (beta === 0) C.fill(0, row, row + N);
    else for (let j = row; j < row + N; j++) C[j] *= beta;
  }
}

// ---- js: plain loops, accumulating each row of C in float64 ----

// Columns of C per pass: the K×JS_COLUMNS panel of B (1 MB at K = 1024) stays in L2 for every row of A.
const JS_COLUMNS = 256;

const jsGemm: GemmBackend = {
  name: 'js',
  threads: 1,
  detail: 'plain JavaScript loops, 1 thread',
  sgemm(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc) {
    // op(B) as a dense K×N row-major block, so the inner loop below always runs along a contiguous row.
    let Bk = B,
      bo = bOff,
      bs = ldb;
    if (transB) {
      Bk = new Float32Array(K * N);
      for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) Bk[k * N + j] = B[bOff + j * ldb + k];
      bo = 0;
      bs = N;
    }
    const acc = new Float64Array(Math.min(N, JS_COLUMNS));
    const aStepI = transA ? 1 : lda,
      aStepK = transA ? lda : 1;
    for (let j0 = 0; j0 < N; j0 += JS_COLUMNS) {
      const nb = Math.min(JS_COLUMNS, N - j0);
      for (let i = 0; i < M; i++) {
        acc.fill(0);
        const ai = aOff + i * aStepI;
        let k = 0;
        // Four rows of B per pass over acc: a quarter of the loads and stores of acc.
        for (; k + 4 <= K; k += 4) {
          const a0 = A[ai + k * aStepK],
            a1 = A[ai + (k + 1) * aStepK];
          const a2 = A[ai + (k + 2) * aStepK],
            a3 = A[ai + (k + 3) * aStepK];
          const r0 = bo + k * bs + j0,
            r1 = r0 + bs,
            r2 = r1 + bs,
            r3 = r2 + bs;
          for (let j = 0; j < nb; j++) acc[j] += a0 * Bk[r0 + j] + a1 * Bk[r1 + j] + a2 * Bk[r2 + j] + a3 * Bk[r3 + j];
        }
        for (; k < K; k++) {
          const a = A[ai + k * aStepK],
            row = bo + k * bs + j0;
          for (let j = 0; j < nb; j++) acc[j] += a * Bk[row + j];
        }
        const c = cOff + i * ldc + j0;
        if (beta === 0) for (let j = 0; j < nb; j++) C[c + j] = alpha * acc[j];
        else for (let j = 0; j < nb; j++) C[c + j] = alpha * acc[j] + beta * C[c + j];
      }
    }
  },
};
