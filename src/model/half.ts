// 16-bit floats: bfloat16 and IEEE binary16 ("half", F16), the dtypes Hugging Face checkpoints are
// stored in. float32 → 16 bits rounds to nearest, ties to even, as PyTorch's `tensor.to(dtype)` does;
// 16 bits → float32 is exact. The `…Into` forms convert a slice into a caller's buffer, so large
// tensors stream through one reusable chunk instead of a second full-size copy.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// ---- float32 → 16 bits ----

/** bfloat16 bits of src into dst (same length): the top half of each float32, rounded to nearest even. */
export function bf16Into(src: Float32Array, dst: Uint16Array): void {
  // Int32Array, not Uint32Array: see bf16ToF32Into. The arithmetic below is the same mod 2^32.
  const bits = new Int32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) {
      dst[i] = (b >>> 16) | 0x40; // a quiet NaN of the same sign
      continue;
    }
    dst[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
}

/** bfloat16 bits, rounded to nearest even; NaN stays NaN. */
export function toBF16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  bf16Into(src, out);
  return out;
}

/** IEEE 754 binary16 bits of one number, rounded to nearest even (overflow → ±Infinity). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or NaN
  const e = exp - 127 + 15; // the half's biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa, with its implicit 1, right by 1 − e more bits.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and 0x7bff + 1 is Infinity).
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/** binary16 bits of src into dst (same length). */
export function f16Into(src: Float32Array, dst: Uint16Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = floatToHalf(src[i]);
}

export function toF16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  f16Into(src, out);
  return out;
}

// ---- 16 bits → float32 ----

/** IEEE 754 binary16 bits → number (exact: every half is a float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits of src → float32 into dst[at …]: bfloat16 is the top half of a float32. */
export function bf16ToF32Into(src: Uint16Array, dst: Float32Array, at = 0): void {
  // NOTE: through an Int32Array. `x << 16` is a signed int32; storing it into a Uint32Array makes V8
  // leave its fast path (measured 10× slower on a 0.5B-parameter checkpoint).
  const bits = new Int32Array(dst.buffer, dst.byteOffset + 4 * at, src.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
}

// The float32 bits of every half, built on first use (256 KB). A NaN keeps its sign and payload, as
// PyTorch's `.float()` does. Int32Array for the reason in bf16ToF32Into.
let halfBits: Int32Array | undefined;

function halfTable(): Int32Array {
  if (halfBits) return halfBits;
  const table = new Int32Array(0x10000);
  const view = new Float32Array(table.buffer);
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0)
      table[h] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
    else view[h] = halfToFloat(h);
  }
  halfBits = table;
  return table;
}

/** binary16 bits of src → float32 into dst[at …]. */
export function f16ToF32Into(src: Uint16Array, dst: Float32Array, at = 0): void {
  const table = halfTable();
  const bits = new Int32Array(dst.buffer, dst.byteOffset + 4 * at, src.length);
  for (let i = 0; i < src.length; i++) bits[i] = table[src[i]];
}
