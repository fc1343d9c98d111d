// Host side of the WebAssembly SIMD element-wise kernels (wasm/assembly/elementwise.ts): operands
// are copied into the module's memory, the kernel runs, results are copied back. Each thread has
// its own instance. Where the module cannot load (no SIMD, not built), `simd` is null and the ops
// use their JavaScript loops, which compute the same values.

import { readFileSync } from 'node:fs';

interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  geluForward(x: number, y: number, d: number, n: number): void;
  layerNormForward(
    x: number,
    w: number,
    b: number,
    y: number,
    xhat: number,
    rstd: number,
    N: number,
    C: number,
    eps: number,
  ): void;
  layerNormBackward(
    dy: number,
    xhat: number,
    rstd: number,
    w: number,
    dx: number,
    dw: number,
    db: number,
    N: number,
    C: number,
  ): void;
  softmaxRows(a: number, rows: number, L: number, causal: number, lse: number): void;
  softmaxBackwardRows(p: number, dp: number, rows: number, L: number, causal: number): void;
}

/** Regions of the module's memory handed out for one kernel call. */
class Arena {
  private f32: Float32Array;
  private top = 0;

  constructor(private readonly ex: Exports) {
    this.f32 = new Float32Array(ex.memory.buffer);
  }

  /** Starts a call: regions of the previous call are free again. */
  reset(): this {
    this.top = (this.ex.heapBase() + 15) & ~15;
    return this;
  }

  /** A region of n floats (16-byte aligned); its byte address. */
  take(n: number): number {
    const ptr = this.top;
    this.top += (n * 4 + 15) & ~15;
    const need = this.top - this.ex.memory.buffer.byteLength;
    if (need > 0) {
      this.ex.memory.grow(Math.ceil(need / 65536));
      this.f32 = new Float32Array(this.ex.memory.buffer);
    }
    return ptr;
  }

  /** A region holding a copy of src. */
  put(src: Float32Array): number {
    const ptr = this.take(src.length);
    this.f32.set(src, ptr >> 2);
    return ptr;
  }

  /** Copies n floats at ptr into dst. */
  get(ptr: number, dst: Float32Array, n = dst.length): void {
    dst.set(this.f32.subarray(ptr >> 2, (ptr >> 2) + n));
  }
}

export class SimdKernels {
  private readonly arena: Arena;

  constructor(private readonly ex: Exports) {
    this.arena = new Arena(ex);
  }

  /** y = gelu(x), and d = gelu'(x) when d is given. */
  gelu(x: Float32Array, y: Float32Array, d: Float32Array | null): void {
    const n = x.length,
      a = this.arena.reset();
    // Regions are padded to whole 4-lane vectors; the lanes past n are never copied back.
    const px = a.take(n + 4);
    new Float32Array(this.ex.memory.buffer, px, n).set(x);
    const py = a.take(n + 4),
      pd = d ? a.take(n + 4) : 0;
    this.ex.geluForward(px, py, pd, (n + 3) & ~3);
    a.get(py, y, n);
    if (d) a.get(pd, d, n);
  }

  layerNormForward(
    x: Float32Array,
    w: Float32Array,
    b: Float32Array,
    y: Float32Array,
    xhat: Float32Array | null,
    rstd: Float32Array | null,
    N: number,
    C: number,
    eps: number,
  ): void {
    const a = this.arena.reset();
    const px = a.put(x),
      pw = a.put(w),
      pb = a.put(b),
      py = a.take(N * C);
    const ph = xhat ? a.take(N * C) : 0,
      pr = rstd ? a.take(N) : 0;
    this.ex.layerNormForward(px, pw, pb, py, ph, pr, N, C, eps);
    a.get(py, y);
    if (xhat) a.get(ph, xhat);
    if (rstd) a.get(pr, rstd);
  }

  layerNormBackward(
    dy: Float32Array,
    xhat: Float32Array,
    rstd: Float32Array,
    w: Float32Array,
    dx: Float32Array | null,
    dw: Float32Array | null,
    db: Float32Array | null,
    N: number,
    C: number,
  ): void {
    const a = this.arena.reset();
    const pdy = a.put(dy),
      ph = a.put(xhat),
      pr = a.put(rstd),
      pw = a.put(w);
    const pdx = dx ? a.put(dx) : 0,
      pdw = dw ? a.put(dw) : 0,
      pdb = db ? a.put(db) : 0;
    this.ex.layerNormBackward(pdy, ph, pr, pw, pdx, pdw, pdb, N, C);
    if (dx) a.get(pdx, dx);
    if (dw) a.get(pdw, dw);
    if (db) a.get(pdb, db);
  }

  /**
   * In place: softmax of each row of length L; causal rows (T×T blocks) keep columns 0..i.
   * lse, if given, receives log Σ exp of each row.
   */
  softmaxRows(x: Float32Array, L: number, causal: boolean, lse?: Float32Array): void {
    const a = this.arena.reset();
    const rows = x.length / L;
    const p = a.put(x),
      pl = lse ? a.take(rows) : 0;
    this.ex.softmaxRows(p, rows, L, causal ? 1 : 0, pl);
    a.get(p, x);
    if (lse) a.get(pl, lse, rows);
  }

  /** In place on dP: dS = P ⊙ (dP − Σ dP·P) per row. */
  softmaxBackwardRows(P: Float32Array, dP: Float32Array, L: number, causal: boolean): void {
    const a = this.arena.reset();
    const pp = a.put(P),
      pd = a.put(dP);
    this.ex.softmaxBackwardRows(pp, pd, P.length / L, L, causal ? 1 : 0);
    a.get(pd, dP);
  }
}

function load(): SimdKernels | null {
  if (process.env.RLHF_SIMD === '0') return null;
  try {
    const bytes = readFileSync(new URL('./wasm/elementwise.wasm', import.meta.url));
    const mod = new WebAssembly.Module(bytes);
    const inst = new WebAssembly.Instance(mod, {});
    return new SimdKernels(inst.exports as unknown as Exports);
  } catch {
    return null;
  }
}

/** The kernels, or null where WebAssembly SIMD is unavailable (RLHF_SIMD=0 forces that). */
export const simd: SimdKernels | null = load();
