// Compiles the AssemblyScript matrix-product kernel into dist/engine/wasm/, next to the compiled
// dist/engine/gemm-wasm.js that loads it. `npm run build` runs this before tsc; it skips the ~5 s compile
// when both outputs are newer than the source and this script.
//
// Two builds of the same source: baseline SIMD (every Node >= 20, every current browser) and relaxed SIMD,
// whose fused multiply-add is ~30% faster; the loader takes the relaxed one where WebAssembly.validate accepts
// it (Node >= 22, or Node 20 with --experimental-wasm-relaxed-simd).
import { mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// The gemm kernel shares one imported memory with its worker threads; the element-wise kernels
// (src/engine/simd.ts) have a private memory per thread.
const sharedMemory = ['--importMemory', '--sharedMemory', '--maximumMemory', '65536', '--noExportMemory'];
const builds = [
  {
    source: 'src/engine/wasm/assembly/gemm.ts',
    outFile: 'dist/engine/wasm/gemm.wasm',
    features: 'simd,threads',
    memory: sharedMemory,
  },
  {
    source: 'src/engine/wasm/assembly/gemm.ts',
    outFile: 'dist/engine/wasm/gemm-relaxed.wasm',
    features: 'simd,threads,relaxed-simd',
    memory: sharedMemory,
  },
  {
    source: 'src/engine/wasm/assembly/elementwise.ts',
    outFile: 'dist/engine/wasm/elementwise.wasm',
    features: 'simd',
    memory: [],
  },
];

// Sources the builds import (not compiled on their own).
const extraSources = ['src/engine/wasm/assembly/gemv.ts'];
const mtime = (path) =>
  stat(root + path).then(
    (s) => s.mtimeMs,
    () => -Infinity,
  );
const newestInput = Math.max(
  ...(await Promise.all([...new Set([...builds.map((b) => b.source), ...extraSources])].map(mtime))),
  await mtime('scripts/build-wasm.mjs'),
);
const outputs = await Promise.all(builds.map((b) => mtime(b.outFile)));
if (outputs.every((t) => t > newestInput)) {
  console.log('build-wasm: dist/engine/wasm/*.wasm are up to date');
  process.exit(0);
}

const { default: asc } = await import('assemblyscript/asc');
await mkdir(root + 'dist/engine/wasm', { recursive: true });
for (const { source, outFile, features, memory } of builds) {
  const { error, stderr } = await asc.main([
    source,
    '--outFile',
    outFile,
    '--baseDir',
    root,
    '-O3',
    '--noAssert',
    '--enable',
    features,
    '--runtime',
    'stub', // the kernels never allocate: the host lays out linear memory itself
    ...memory,
  ]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-wasm: compiling ${source} (${features}) failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`build-wasm: ${outFile}`);
}
