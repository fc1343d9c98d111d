// The decode kernels (engine/decode-weights.ts, wasm/assembly/gemv.ts) against a float64 product, on both
// weight layouts, both dtypes, every row count up to DECODE_MAX_ROWS, K not a multiple of 8, two threads.
process.env.RLHF_THREADS = '2';

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DECODE_MAX_ROWS, type DecodeDtype, decodeWeights } from './decode-weights.js';
import { Tensor } from './tensor.js';

let seed = 7;
function random(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
}
const randomTensor = (shape: number[]) => new Tensor(Float32Array.from({ length: shape[0] * shape[1] }, random), shape);

/** x (rows×K) · W in float64, W (N, K) when outIn, else (K, N); bf16 rounds W first. */
function reference(x: Float32Array, rows: number, w: Tensor, outIn: boolean, dtype: DecodeDtype): Float64Array {
  const [r, c] = w.shape;
  const [N, K] = outIn ? [r, c] : [c, r];
  const W = new Float64Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) W[n * K + k] = w.data[outIn ? n * K + k : k * N + n];
  if (dtype === 'bfloat16') {
    const f = Float32Array.from(W),
      u = new Uint32Array(f.buffer);
    for (let i = 0; i < u.length; i++) u[i] = ((u[i] + 0x7fff + ((u[i] >>> 16) & 1)) >>> 16) << 16;
    W.set(f);
  }
  const y = new Float64Array(rows * N);
  for (let m = 0; m < rows; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * W[n * K + k];
      y[m * N + n] = s;
    }
  return y;
}

function assertNear(got: Float32Array, want: Float64Array, offset: number, what: string): void {
  let worst = 0,
    at = 0;
  want.forEach((v, i) => {
    const d = Math.abs(got[i] - offset - v);
    if (!(d <= worst)) [worst, at] = [d, i];
  });
  assert.ok(worst < 1e-4, `${what}: y[${at}] = ${got[at] - offset}, expected ${want[at]}`);
}

describe('decode weights', () => {
  const dw = decodeWeights();
  it('loads where WebAssembly SIMD runs, with the worker threads asked for', () => {
    assert.ok(dw, 'decodeWeights() is null: WebAssembly SIMD missing?');
    assert.equal(dw.threads, 2);
  });

  for (const dtype of ['float32', 'bfloat16'] as const)
    for (const outIn of [true, false])
      it(`${dtype}, W stored ${outIn ? '(out, in)' : '(in, out)'}: every row count equals the product`, async () => {
        // N large enough to split across threads; K with a tail past the last 8.
        const K = 203,
          N = 1400;
        const w = randomTensor(outIn ? [N, K] : [K, N]);
        const small = randomTensor(outIn ? [5, K] : [K, 5]);
        assert.ok(
          dw!.load(
            [
              { tensor: w, outIn },
              { tensor: small, outIn },
            ],
            dtype,
          ),
        );
        for (let rows = 1; rows <= DECODE_MAX_ROWS; rows++) {
          const x = Float32Array.from({ length: rows * K }, random);
          for (const [tensor, n] of [
            [w, N],
            [small, 5],
          ] as const) {
            const want = reference(x, rows, tensor, outIn, dtype);
            const y = new Float32Array(rows * n).fill(0.5);
            assert.ok(dw!.multiply(x, rows, tensor, outIn, y, true));
            assertNear(y, want, 0.5, `${rows} rows, accumulating`);
            assert.ok(dw!.multiply(x, rows, tensor, outIn, y, false));
            assertNear(y, want, 0, `${rows} rows`);
          }
        }
      });

  it('refuses what it does not hold: more rows, another layout, another tensor', () => {
    const w = randomTensor([16, 8]);
    assert.ok(dw!.load([{ tensor: w, outIn: true }], 'float32'));
    const y = new Float32Array(64 * 16);
    assert.equal(dw!.multiply(new Float32Array(9 * 8), 9, w, true, y, false), false);
    assert.equal(dw!.multiply(new Float32Array(8), 1, w, false, y, false), false);
    assert.equal(dw!.multiply(new Float32Array(8), 1, randomTensor([16, 8]), true, y, false), false);
    assert.equal(dw!.multiply(new Float32Array(8), 1, w, true, y, false), true);
  });

  it('notices changed weights: an optimizer step (version) or a write without one (probes)', () => {
    const w = randomTensor([64, 32]);
    const list = [{ tensor: w, outIn: true }];
    assert.ok(dw!.load(list, 'bfloat16'));
    assert.ok(dw!.holds(list, 'bfloat16'));
    assert.equal(dw!.holds(list, 'float32'), false, 'another dtype is not held');
    w.version++;
    assert.equal(dw!.holds(list, 'bfloat16'), false);
    assert.equal(dw!.multiply(new Float32Array(32), 1, w, true, new Float32Array(64), false), false);
    assert.ok(dw!.load(list, 'bfloat16'));
    w.data.set(w.data.map((v) => v * 2));
    assert.equal(dw!.holds(list, 'bfloat16'), false);
  });
});
