// Compiles the AssemblyScript matrix-product kernel into dist/engine/wasm/, next to the compiled
// dist/engine/gemm-wasm.js that loads it. `npm run build` runs this before tsc.
//
// Two builds of the same source: baseline SIMD (any Node >= 16.4, every current browser) and relaxed SIMD,
// whose fused multiply-add is ~30% faster; the loader takes the relaxed one where WebAssembly.validate accepts it.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = 'src/engine/wasm/assembly/gemm.ts';
const builds = [
  { outFile: 'dist/engine/wasm/gemm.wasm', features: 'simd' },
  { outFile: 'dist/engine/wasm/gemm-relaxed.wasm', features: 'simd,relaxed-simd' },
];

await mkdir(new URL('../dist/engine/wasm/', import.meta.url), { recursive: true });
for (const { outFile, features } of builds) {
  const { error, stderr } = await asc.main([
    source,
    '--outFile', outFile,
    '--baseDir', root,
    '-O3', '--noAssert',
    '--enable', features,
    '--runtime', 'stub', // the kernel never allocates: the host lays out linear memory itself
  ]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build-wasm: compiling ${source} (${features}) failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`build-wasm: ${outFile}`);
}
