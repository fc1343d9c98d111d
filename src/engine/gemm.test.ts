// Every matrix-product backend that loads on this machine, against a float64 reference.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type GemmBackend, type GemmBackendName, gemm, selectGemm } from './gemm.js';
import { loadWasmGemm } from './gemm-wasm.js';
import { assertAllClose } from '../test-support/assert-close.js';

// ---- fixtures ----

let seed = 12345;
function random(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
}

/** A rows×cols operand stored from `off` with row stride `ld`; every element outside it is `fill`. */
function operand(rows: number, cols: number, ld: number, off: number, fill = 7777): Float32Array {
  const X = new Float32Array(off + Math.max(0, rows - 1) * ld + cols + 3).fill(fill);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) X[off + r * ld + c] = random();
  return X;
}

interface Case {
  tA: boolean;
  tB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  beta: number;
  pad: number;
  offset: number;
}

/** Runs one case on `backend` and checks C against float64 sums, and that C outside M×N is untouched. */
function check(backend: Pick<GemmBackend, 'sgemm'>, t: Case): void {
  const { tA, tB, M, N, K, alpha, beta, pad, offset } = t;
  const [aRows, aCols] = tA ? [K, M] : [M, K];
  const [bRows, bCols] = tB ? [N, K] : [K, N];
  const lda = aCols + pad,
    ldb = bCols + 2 * pad,
    ldc = N + pad;
  const aOff = offset,
    bOff = 2 * offset,
    cOff = 3 * offset;
  const A = operand(aRows, aCols, lda, aOff),
    B = operand(bRows, bCols, ldb, bOff);
  const C = operand(M, N, ldc, cOff, -5555);
  if (beta === 0) for (let i = 0; i < M; i++) C.fill(NaN, cOff + i * ldc, cOff + i * ldc + N);
  const before = C.slice();

  backend.sgemm(tA, tB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);

  const at = (i: number, k: number) => (tA ? A[aOff + k * lda + i] : A[aOff + i * lda + k]);
  const bt = (k: number, j: number) => (tB ? B[bOff + j * ldb + k] : B[bOff + k * ldb + j]);
  const name = `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} M=${M} N=${N} K=${K} alpha=${alpha} beta=${beta} pad=${pad}`;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0,
        mag = 0;
      for (let k = 0; k < K; k++) {
        sum += at(i, k) * bt(k, j);
        mag += Math.abs(at(i, k) * bt(k, j));
      }
      const c0 = beta === 0 ? 0 : before[cOff + i * ldc + j];
      const want = alpha * sum + beta * c0;
      // float32 rounding grows with the size of the terms, not of their (possibly cancelling) sum.
      const tol = 2e-6 * (Math.abs(alpha) * mag * Math.sqrt(K) + Math.abs(beta * c0)) + 1e-30;
      const got = C[cOff + i * ldc + j];
      if (!(Math.abs(got - want) <= tol)) assert.fail(`${name}: C[${i},${j}] = ${got}, want ${want} ± ${tol}`);
    }
  }
  for (let p = 0; p < C.length; p++) {
    const inside = p >= cOff && (p - cOff) % ldc < N && Math.floor((p - cOff) / ldc) < M;
    if (!inside && !Object.is(C[p], before[p])) assert.fail(`${name}: C[${p}] outside the block changed`);
  }
}

const shapes: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 33, 1],
  [33, 17, 130],
  [130, 3, 17],
  [64, 64, 64],
  [100, 37, 300],
  [5, 2100, 9],
];
const scalings: [number, number][] = [
  [1, 0],
  [0.5, 1],
  [-2, 0.25],
];

function cases(): Case[] {
  const out: Case[] = [];
  let n = 0;
  for (const [M, N, K] of shapes) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const [alpha, beta] = scalings[n % scalings.length];
        out.push({ tA, tB, M, N, K, alpha, beta, pad: n % 2 ? 3 : 0, offset: n % 3 ? 5 : 0 });
        n++;
      }
    }
  }
  return out;
}

/** The backend, or the reason it does not load here (the test is then skipped, saying why). */
function tryLoad(load: () => GemmBackend): GemmBackend | string {
  try {
    return load();
  } catch (err) {
    return (err as Error).message;
  }
}

const backends: [string, () => GemmBackend][] = [
  ...(['openblas', 'wasm-simd', 'js'] as GemmBackendName[]).map(
    (n) => [n, () => selectGemm(n)] as [string, () => GemmBackend],
  ),
  ['wasm-simd baseline build', () => loadWasmGemm({ build: 'baseline' })],
  ['wasm-simd relaxed build', () => loadWasmGemm({ build: 'relaxed' })],
  ['wasm-simd split into pieces', () => loadWasmGemm({ maxBytes: 4096 })],
];

// ---- tests ----

for (const [label, load] of backends) {
  describe(`sgemm on ${label}`, () => {
    const backend = tryLoad(load);
    const skip = typeof backend === 'string' ? backend : false;
    for (const [alpha, beta] of scalings) {
      it(`all transposes, odd sizes, strides and offsets, alpha=${alpha} beta=${beta}`, { skip }, () => {
        for (const t of cases()) check(backend as GemmBackend, { ...t, alpha, beta });
      });
    }
    it('a product large enough to cross every blocking boundary', { skip }, () => {
      check(backend as GemmBackend, {
        tA: false,
        tB: true,
        M: 197,
        N: 131,
        K: 520,
        alpha: 1,
        beta: 0,
        pad: 1,
        offset: 2,
      });
    });
  });
}

describe('sgemm on the wasm-simd relaxed build, in a child process with relaxed SIMD enabled', () => {
  // Node >= 22 validates the relaxed build and picks it by default; Node 20 needs a V8 flag to run it.
  const skip = typeof tryLoad(() => loadWasmGemm({ build: 'relaxed' })) === 'string' ? false : 'tested above';
  it('matches plain JavaScript on all transposes and odd sizes', { skip }, () => {
    const script =
      `
      import { loadWasmGemm } from ${JSON.stringify(new URL('./gemm-wasm.js', import.meta.url).href)};
      import { selectGemm } from ${JSON.stringify(new URL('./gemm.js', import.meta.url).href)};
      const wasm = loadWasmGemm({ build: 'relaxed' }), js = selectGemm('js');
      let worst = 0;
      for (const [M, N, K] of [[1, 1, 1], [17, 33, 5], [130, 37, 300]]) for (const tA of [false, true]) ` +
      `for (const tB of [false, true]) {
        const A = Float32Array.from({ length: M * K }, Math.random), B = Float32Array.from({ length: K ` +
      `* N }, Math.random);
        const C1 = new Float32Array(M * N), C2 = new Float32Array(M * N);
        for (const [g, C] of [[wasm, C1], [js, C2]]) g.sgemm(tA, tB, M, N, K, 1, A, 0, tA ? M : K, B, ` +
      `0, tB ? K : N, 0, C, 0, N);
        for (let p = 0; p < C1.length; p++) worst = Math.max(worst, Math.abs(C1[p] - C2[p]) / K);
      }
      console.log(worst);`;
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Number(r.stdout) < 1e-6, `worst error per term ${r.stdout}`);
  });
});

describe('sgemm on wasm-simd with a worker thread', () => {
  it('splits large products by rows and by columns and gets the same numbers', async () => {
    const backend = loadWasmGemm({ threads: 3 });
    for (let waited = 0; backend.workersReady() < 2; waited += 10) {
      if (waited > 20_000) assert.fail('the wasm workers did not start within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const [M, N, K] of [
      [150, 60, 500],
      [37, 290, 400],
      [301, 301, 45],
    ]) {
      for (const [tA, tB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        check(backend, { tA, tB, M, N, K, alpha: 0.5, beta: 0.25, pad: 2, offset: 1 });
      }
    }
    // Back-to-back jobs that accumulate into C: a slice run twice, or skipped, would show in the sum.
    for (const [M, N, K] of [
      [300, 64, 256],
      [40, 500, 256],
    ]) {
      const A = operand(M, K, K, 0),
        B = operand(K, N, N, 0),
        C = new Float32Array(M * N);
      const once = new Float32Array(M * N);
      selectGemm('js').sgemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, once, 0, N);
      for (let rep = 0; rep < 30; rep++) backend.sgemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 1, C, 0, N);
      const want = Array.from(once, (x) => 30 * x);
      assertAllClose(C, want, { atol: 1e-3, rtol: 1e-3 }, `M=${M} N=${N} K=${K}: C after 30 accumulations`);
    }
  });
});

describe('sgemm argument checks', () => {
  const js = selectGemm('js');
  it('reads operands from a view with its own byteOffset', () => {
    for (const name of ['openblas', 'wasm-simd', 'js'] as const) {
      const backend = tryLoad(() => selectGemm(name));
      if (typeof backend === 'string') continue;
      const base = new Float32Array(20).fill(9);
      base.set([1, 2, 3, 4], 7);
      const A = base.subarray(5); // A[2..5] = [[1, 2], [3, 4]]
      const C = new Float32Array(8).fill(-1);
      backend.sgemm(false, false, 2, 2, 2, 1, A, 2, 2, new Float32Array([1, 0, 0, 1]), 0, 2, 0, C.subarray(1), 2, 2);
      assert.deepEqual([...C], [-1, -1, -1, 1, 2, 3, 4, -1], name);
    }
  });
  it('K = 0 or alpha = 0 scales C by beta; M = 0 touches nothing', () => {
    const C = new Float32Array([NaN, 2, 3, 4]);
    js.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 0, 1, new Float32Array(0), 0, 2, 0, C, 0, 2);
    assert.deepEqual([...C], [0, 0, 0, 0]);
    C.set([1, 2, 3, 4]);
    js.sgemm(false, false, 2, 2, 2, 0, new Float32Array(4), 0, 2, new Float32Array(4), 0, 2, 2, C, 0, 2);
    assert.deepEqual([...C], [2, 4, 6, 8]);
    js.sgemm(false, false, 0, 2, 2, 1, new Float32Array(0), 0, 2, new Float32Array(4), 0, 2, 0, C, 0, 2);
    assert.deepEqual([...C], [2, 4, 6, 8]);
  });
  it('rejects operands that do not fit, naming the operand and the sizes', () => {
    const A = new Float32Array(6),
      B = new Float32Array(6),
      C = new Float32Array(4);
    assert.throws(
      () => js.sgemm(false, false, 2, 2, 3, 1, A, 1, 3, B, 0, 2, 0, C, 0, 2),
      /A as stored is 2×3.*needs 7 elements, but A has 6/,
    );
    assert.throws(
      () => js.sgemm(true, false, 2, 2, 3, 1, A, 0, 1, B, 0, 2, 0, C, 0, 2),
      /lda=1 is less than the 2 columns: A as stored \(transA\) is 3×2/,
    );
    assert.throws(
      () => js.sgemm(false, false, 2, 2, 3, 1, A, 0, 3, B, 0, 2, 0, C, 0, 3),
      /C .*needs 5 elements, but C has 4/,
    );
    assert.throws(
      () => js.sgemm(false, false, 2.5, 2, 3, 1, A, 0, 3, B, 0, 2, 0, C, 0, 2),
      /M must be an integer >= 0, got 2.5/,
    );
  });
});

describe('openblas kernels', () => {
  // OpenBLAS 0.3.21 does not know newer Xeons and silently ran its SSE3 "Prescott" kernels, 5x slower.
  const cpuinfo = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const backend = tryLoad(() => selectGemm('openblas'));
  const skip =
    typeof backend === 'string'
      ? backend
      : !/^flags.*\bavx2\b/m.test(cpuinfo)
        ? 'not an AVX2 Linux machine'
        : process.env.OPENBLAS_CORETYPE
          ? 'OPENBLAS_CORETYPE is set by the user'
          : false;
  it('run the AVX2/AVX-512 code on a CPU that has it', { skip }, () => {
    const { detail } = backend as GemmBackend;
    if (!/core /.test(detail)) return; // not OpenBLAS (no openblas_get_corename)
    assert.doesNotMatch(
      detail,
      /core (Prescott|Core2|Penryn|Dunnington|Nehalem|Atom|Katmai|Coppermine|Northwood|Banias)\b/,
    );
  });
});

describe('backend selection', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { gemm } from ${JSON.stringify(new URL('./gemm.js', import.meta.url).href)};
     const g = gemm(); console.log(g.name);`,
      ],
      { env: { ...process.env, ...env }, encoding: 'utf8' },
    );
  it('gemm() returns one cached backend', () => {
    assert.equal(gemm(), gemm());
  });
  it('RLHF_BLAS picks the backend, silently when the user chose it', () => {
    const r = run({ RLHF_BLAS: 'js' });
    assert.equal(r.stdout.trim(), 'js');
    assert.equal(r.stderr, '');
  });
  it('a forced RLHF_BLAS=openblas that cannot load says what was tried', () => {
    const r = run({ RLHF_BLAS: 'openblas', RLHF_BLAS_LIB: '/nonexistent/libopenblas.so.0' });
    assert.notEqual(r.status, 0);
    assert.match(
      r.stderr,
      new RegExp(
        /RLHF_BLAS_LIB=\/nonexistent\/libopenblas.so.0 but no BLAS library with cblas_sgemm loaded; tried /.source +
          /\/nonexistent\/libopenblas.so.0: .*HINT: /.source,
      ),
    );
  });
  it('an unknown RLHF_BLAS is an error that lists the choices', () => {
    const r = run({ RLHF_BLAS: 'cuda' });
    assert.match(r.stderr, /RLHF_BLAS=cuda is not a matrix-product backend. Use one of: openblas, wasm, js, auto/);
  });
});
