// GFLOP/s of every matrix-product backend that loads here, on square and GPT-shaped products.
// Usage: npm run build && node bench/gemm-bench.mjs [--quick]
// Node 20 runs the relaxed-SIMD kernel only with `node --experimental-wasm-relaxed-simd bench/gemm-bench.mjs`.
import os from 'node:os';
import { selectGemm } from '../dist/engine/gemm.js';
import { loadWasmGemm } from '../dist/engine/gemm-wasm.js';

const quick = process.argv.includes('--quick');
// M×N×K. 2048×384×128 and 2048×128×384: a linear layer (d 128 ↔ 3·128) over B·T = 2048 tokens;
// 128×128×32: one attention head's scores (T = 128, hs = 32).
const shapes = [
  [1024, 1024, 1024],
  [2048, 384, 128],
  [2048, 128, 384],
  [128, 128, 32],
];
const cores = os.availableParallelism();

const backends = [];
const failed = new Set();
for (const [label, load] of [
  ['openblas', () => selectGemm('openblas')],
  ['wasm-simd', () => loadWasmGemm({ build: 'baseline' })],
  ['wasm-simd', () => loadWasmGemm({ build: 'baseline', threads: cores })],
  ['wasm-simd relaxed', () => loadWasmGemm({ build: 'relaxed' })],
  ['wasm-simd relaxed', () => loadWasmGemm({ build: 'relaxed', threads: cores })],
  ['js', () => selectGemm('js')],
]) {
  if (failed.has(label)) continue;
  try {
    const backend = load();
    if (backends.some(([, b]) => b.detail === backend.detail)) continue; // cores = 1: the same as above
    backends.push([label, backend]);
  } catch (err) {
    failed.add(label);
    console.log(`${label}: not available here (${err.message})`);
  }
}
// Workers start in the background; give them a moment, as a training run would.
await new Promise((resolve) => setTimeout(resolve, 500));

for (const [label, backend] of backends) {
  console.log(`\n${label}: ${backend.detail}`);
  for (const [M, N, K] of shapes) {
    const A = random(M * K),
      B = random(K * N),
      C = new Float32Array(M * N);
    const flops = 2 * M * N * K;
    const run = () => backend.sgemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N);
    run();
    // Repeat each timing for ~0.2 s and keep the best of several: the machine may be shared.
    const reps = Math.max(1, Math.min(2000, Math.round(0.2 / time(run))));
    let best = Infinity;
    for (let t = 0; t < (quick || backend.name === 'js' ? 2 : 7); t++) best = Math.min(best, time(run, reps));
    console.log(
      `  ${`${M}×${N}×${K}`.padEnd(16)} ${(flops / best / 1e9).toFixed(1).padStart(7)} GFLOP/s` +
        `  ${(best * 1e3).toFixed(3).padStart(9)} ms`,
    );
  }
}
process.exit(0); // the wasm workers are unref'd, but exit promptly anyway

function time(fn, reps = 1) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e9 / reps;
}

function random(n) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.random() - 0.5;
  return x;
}
