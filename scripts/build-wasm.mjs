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
const source = 'src/engine/wasm/assembly/gemm.ts';
const builds = [
  { outFile: 'dist/engine/wasm/gemm.wasm', features: 'simd,threads' },
  { outFile: 'dist/engine/wasm/gemm-relaxed.wasm', features: 'simd,threads,relaxed-simd' },
];

const mtime = (path) => stat(root + path).then((s) => s.mtimeMs, () => -Infinity);
const newestInput = Math.max(await mtime(source), await mtime('scripts/build-wasm.mjs'));
const outputs = await Promise.all(builds.map((b) => mtime(b.outFile)));
if (outputs.every((t) => t > newestInput)) {
  console.log('build-wasm: dist/engine/wasm/*.wasm are up to date');
  process.exit(0);
}

const { default: asc } = await import('assemblyscript/asc');
await mkdir(root + 'dist/engine/wasm', { recursive: true });
for (const { outFile, features } of builds) {
  const { error, stderr } = await asc.main([
    source,
    '--outFile', outFile,
    '--baseDir', root,
    '-O3', '--noAssert',
    '--enable', features,
    '--runtime', 'stub', // the kernel never allocates: the host lays out linear memory itself
    // One memory, made by the host and shared with its worker threads; the maximum must equal
    // MAX_PAGES in src/engine/gemm-wasm.ts.
    '--importMemory', '--sharedMemory', '--maximumMemory', '32768', '--noExportMemory',
  ]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-wasm: compiling ${source} (${features}) failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`build-wasm: ${outFile}`);
}
