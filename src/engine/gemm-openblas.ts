// The `openblas` backend: cblas_sgemm from a system BLAS, called through the koffi FFI.
// Finds OpenBLAS (Linux, Windows, Homebrew) or Accelerate (macOS), sets its thread count, and on x86-64
// Linux tells OpenBLAS which CPU it is running on when its own detection would fall short (see coreTypeHint).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { GemmBackend } from './gemm-backend.js';

type Koffi = typeof import('koffi');
type SgemmFn = (
  order: number,
  transA: number,
  transB: number,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
) => void;

const CblasRowMajor = 101,
  CblasNoTrans = 111,
  CblasTrans = 112;
const SGEMM =
  'void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, ' +
  'const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)';

export interface OpenBLASOptions {
  /** Load only this library (a path or a name for the dynamic loader) instead of searching. */
  library?: string;
  /** Threads for OpenBLAS's own pool. */
  threads: number;
}

/** Loads the first usable BLAS; throws an Error listing every library tried and why each failed. */
export function loadOpenBLAS(options: OpenBLASOptions): GemmBackend {
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    throw new Error(`the koffi FFI module did not load (${(err as Error).message})`);
  }
  const explicit = options.library;
  const tried: string[] = [];
  for (const path of explicit ? [explicit] : candidateLibraries()) {
    try {
      return open(koffi, path, explicit !== undefined, options.threads);
    } catch (err) {
      tried.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no BLAS library with cblas_sgemm loaded; tried ${tried.join('; ')}`);
}

function candidateLibraries(): string[] {
  if (process.platform === 'darwin') {
    return [
      '/System/Library/Frameworks/Accelerate.framework/Accelerate',
      '/opt/homebrew/opt/openblas/lib/libopenblas.dylib',
      '/usr/local/opt/openblas/lib/libopenblas.dylib',
    ];
  }
  if (process.platform === 'win32') return ['libopenblas.dll', 'openblas.dll'];
  const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : process.arch === 'x64' ? 'x86_64-linux-gnu' : '';
  const debian = multiarch
    ? ['openblas-pthread', 'openblas-openmp'].map((d) => `/usr/lib/${multiarch}/${d}/libopenblas.so.0`)
    : [];
  // libblas.so.3 last: on Debian it is whichever BLAS the alternatives system points at.
  return ['libopenblas.so.0', 'libopenblas.so', ...debian, 'libblas.so.3'];
}

function open(koffi: Koffi, path: string, explicit: boolean, threads: number): GemmBackend {
  const hint = coreTypeHint();
  if (hint) process.env.OPENBLAS_CORETYPE = hint;
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load(path);
  } finally {
    if (hint) delete process.env.OPENBLAS_CORETYPE;
  }
  const optional = (proto: string) => {
    try {
      return lib.func(proto);
    } catch {
      return undefined;
    }
  };
  const reject = (why: string): never => {
    lib.unload();
    throw new Error(why);
  };
  const sgemm = (optional(SGEMM) as SgemmFn | undefined) ?? reject('does not export cblas_sgemm');
  const setThreads = optional('void openblas_set_num_threads(int n)');
  const coreName = optional('const char *openblas_get_corename()');
  const accelerate = path.includes('Accelerate.framework');
  // NOTE: a generic libblas.so.3 may be the netlib reference BLAS (~2 GFLOP/s), slower than our wasm kernel;
  // take it only when it is OpenBLAS under another name, unless the user named it in RLHF_BLAS_LIB.
  if (!setThreads && !accelerate && !explicit) reject('is not OpenBLAS (no openblas_set_num_threads)');

  setThreads?.(threads);
  const core = coreName ? `, core ${coreName()}${hint ? ' (OPENBLAS_CORETYPE from the CPU flags)' : ''}` : '';
  const detail = accelerate
    ? `Accelerate ${path} (threads chosen by macOS)`
    : `${path}${core}, ${setThreads ? `${threads} thread${threads === 1 ? '' : 's'}` : 'its default threads'}`;
  return {
    name: 'openblas',
    threads: accelerate || !setThreads ? os.availableParallelism() : threads,
    detail,
    sgemm(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc) {
      // koffi passes a typed array's own start (byteOffset included) without copying, so a subarray
      // is how an offset reaches C; offset 0 skips even that allocation.
      sgemm(
        CblasRowMajor,
        transA ? CblasTrans : CblasNoTrans,
        transB ? CblasTrans : CblasNoTrans,
        M,
        N,
        K,
        alpha,
        aOff ? A.subarray(aOff) : A,
        lda,
        bOff ? B.subarray(bOff) : B,
        ldb,
        beta,
        cOff ? C.subarray(cOff) : C,
        ldc,
      );
    },
  };
}

// ---- CPU detection for OpenBLAS's DYNAMIC_ARCH builds ----

/**
 * The OPENBLAS_CORETYPE (which OpenBLAS reads once, while it loads) for this CPU's feature flags, read
 * from /proc/cpuinfo; undefined off x86-64 Linux, or when the user has set OPENBLAS_CORETYPE themselves.
 *
 * NOTE: OpenBLAS picks its kernels from the CPU model number, and falls back to the ancient "Prescott"
 * SSE3 kernels for models it does not know. Debian 12's OpenBLAS 0.3.21 does not know Emerald Rapids
 * (family 6, model 207), so on the cloud VMs this was written on it ran cblas_sgemm at ~38 GFLOP/s
 * instead of ~200. The feature flags are what matter, and those we can read.
 */
function coreTypeHint(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64' || process.env.OPENBLAS_CORETYPE) return undefined;
  let flags: Set<string>;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    flags = new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return undefined;
  }
  const has = (...names: string[]) => names.every((n) => flags.has(n));
  return has('avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl')
    ? 'SkylakeX'
    : has('avx2', 'fma')
      ? 'Haswell'
      : has('avx')
        ? 'SandyBridge'
        : undefined;
}
