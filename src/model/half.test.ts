import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toFloat32 } from './safetensors.js';
import { floatToHalf, halfToFloat, toBF16, toF16 } from './half.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';

const bf16ToFloat = (bits: number) => toFloat32({ dtype: 'BF16', shape: [1], data: Uint16Array.of(bits) })[0];

describe('float32 → bfloat16', () => {
  it('keeps values bfloat16 can hold, and rounds the rest to nearest even', () => {
    const xs = Float32Array.of(0, -0, 1, -2.5, 0.15625, 65280, Infinity, -Infinity, 1e-40);
    const back = [...toBF16(xs)].map(bf16ToFloat);
    assert.deepEqual(back.slice(0, 8), [0, -0, 1, -2.5, 0.15625, 65280, Infinity, -Infinity]);
    assertClose(back[8], 1e-40, 2 ** -134, 'subnormal'); // within half a step (2^-133)
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
    assert.equal(bf16ToFloat(toBF16(Float32Array.of(1 + 2 ** -8))[0]), 1);
    assert.equal(bf16ToFloat(toBF16(Float32Array.of(1 + 3 * 2 ** -8))[0]), 1 + 2 ** -6);
    assert.equal(bf16ToFloat(toBF16(Float32Array.of(1 + 2 ** -8 + 2 ** -20))[0]), 1 + 2 ** -7);
    assert.ok(Number.isNaN(bf16ToFloat(toBF16(Float32Array.of(NaN))[0])));
  });

  it('is within half a bfloat16 step of every value', () => {
    const xs = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    const back = [...toBF16(xs)].map(bf16ToFloat);
    assertAllClose(back, xs, { rtol: 2 ** -8 }, 'bfloat16 round trip');
  });
});

describe('float32 → float16', () => {
  it('matches IEEE binary16 at exact values, limits and subnormals', () => {
    assert.equal(floatToHalf(1), 0x3c00);
    assert.equal(floatToHalf(-2), 0xc000);
    assert.equal(floatToHalf(65504), 0x7bff); // the largest half
    assert.equal(floatToHalf(65520), 0x7c00); // rounds up past it: Infinity
    assert.equal(floatToHalf(2 ** -24), 0x0001); // the smallest subnormal
    assert.equal(floatToHalf(2 ** -25), 0x0000); // halfway to it: ties to even (0)
    assert.equal(floatToHalf(3 * 2 ** -26), 0x0001);
    assert.equal(floatToHalf(2 ** -14), 0x0400); // the smallest normal
    assert.equal(floatToHalf(-0), 0x8000);
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie → even
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  });

  it('gives back every half exactly (all 63,488 finite patterns)', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      assert.equal(floatToHalf(halfToFloat(h)), h, `0x${h.toString(16)}`);
    }
    const xs = Float32Array.of(0.1, -3.3, 1234.5);
    assert.deepEqual([...toF16(xs)].map(halfToFloat), [0.0999755859375, -3.30078125, 1234]);
  });
});
