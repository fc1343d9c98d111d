// GFLOP/s of every matrix-product backend that loads here, on square and GPT-shaped products.
// Usage: npm run build && node bench/gemm-bench.mjs [--quick]
// (Node 20: add --experimental-wasm-relaxed-simd to node's flags to measure the relaxed-SIMD kernel.)
import { selectGemm } from '../dist/engine/gemm.js';
import { loadWasmGemm } from '../dist/engine/gemm-wasm.js';

const quick = process.argv.includes('--quick');
// M×N×K. The GPT ones are a linear layer over B·T = 2048 tokens (d 128 → 3·128) and one attention head.
const shapes = [[1024, 1024, 1024], [2048, 384, 128], [2048, 128, 384], [128, 128, 32]];

const backends = [];
for (const [label, load] of [
  ['openblas', () => selectGemm('openblas')],
  ['wasm-simd', () => loadWasmGemm({ build: 'baseline' })],
  ['wasm-simd relaxed', () => loadWasmGemm({ build: 'relaxed' })],
  ['js', () => selectGemm('js')],
]) {
  try {
    backends.push([label, load()]);
  } catch (err) {
    console.log(`${label.padEnd(18)} not available: ${err.message}`);
  }
}

for (const [label, backend] of backends) {
  console.log(`\n${label}: ${backend.detail}`);
  for (const [M, N, K] of shapes) {
    const A = random(M * K), B = random(K * N), C = new Float32Array(M * N);
    const flops = 2 * M * N * K;
    const run = () => backend.sgemm(false, false, M, N, K, 1, A, 0, K, B, 0, N, 0, C, 0, N);
    run();
    // Repeat each timing for >= ~0.2 s and keep the best of several: the machine may be shared.
    const once = time(run);
    const reps = Math.max(1, Math.min(1000, Math.round(0.2 / once)));
    let best = Infinity;
    for (let t = 0; t < (quick || backend.name === 'js' ? 2 : 5); t++) best = Math.min(best, time(run, reps));
    console.log(`  ${`${M}×${N}×${K}`.padEnd(16)} ${(flops / best / 1e9).toFixed(1).padStart(7)} GFLOP/s` +
      `  ${(best * 1e3).toFixed(3).padStart(9)} ms`);
  }
}

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
