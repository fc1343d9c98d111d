// The one interface every matrix-product backend implements (src/engine/gemm.ts picks one per process).
// NOTE: kept apart from gemm.ts so that the backends, which gemm.ts loads, do not import it back.

export type GemmBackendName = 'openblas' | 'wasm-simd' | 'js';

export interface GemmBackend {
  readonly name: GemmBackendName;
  readonly threads: number;
  /** What is running, for benchmark printouts: library path, kernel build, thread count. */
  readonly detail: string;
  /**
   * Row-major: C[M×N] = alpha · op(A)[M×K] · op(B)[K×N] + beta · C, where op(X) = X or Xᵀ.
   * A starts at A[aOff] with leading dimension lda (the row stride of A as stored: K if not transposed,
   * M if transposed, or more for a strided slice); the same for B and C. beta = 0 overwrites C, ignoring
   * whatever (even NaN) was there. C must not overlap A or B.
   */
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
  ): void;
}
