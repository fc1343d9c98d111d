// Worker threads for the wasm kernels (the sgemm backend, and the decode products of decode-weights.ts):
// every thread runs the same compiled module on one shared WebAssembly.Memory. A product is cut into slices
// of rows (or columns) of C that the main thread and the workers claim one at a time, so a slower or busier
// core simply takes fewer.
//
// The handshake is synchronous (Atomics on a SharedArrayBuffer, no messages): the caller's sgemm must
// return with C complete, and postMessage would need the event loop the caller is blocking.
import { Worker } from 'node:worker_threads';

/** The arguments of the kernel's sgemm export, in order. */
export type KernelArgs = [
  transA: number,
  transB: number,
  M: number,
  N: number,
  K: number,
  alpha: number,
  a: number,
  lda: number,
  b: number,
  ldb: number,
  beta: number,
  c: number,
  ldc: number,
  work: number,
];

/** Int32 slots of the control block. */
const Slot = {
  seq: 0, // bumped by the main thread to wake the workers for a job
  claim: 1, // (job number & 0xffff) << 16 | next unclaimed slice: claims of a finished job fail
  finished: 2, // slices completed
  failed: 3, // set if a worker's slice threw
  ready: 4, // workers that have started
  slices: 5, // how many slices the job has
  sliceSize: 6, // rows (or columns) of C in a slice
  byRows: 7, // 1: slices are rows of C, 0: columns
  kind: 8, // which export runs the job: a KernelKind
  args: 9, // the whole product's KernelArgs (alpha and beta as float32 bits; work is set per thread)
} as const;
const SLOTS = Slot.args + 14;
// NOTE: the slice index lives in the low 16 bits of Slot.claim.
// Polls of the job counter (about 50 µs) before a worker goes to sleep.
const SPINS = 50_000;
const MAX_SLICES = 0xffff;

export interface WorkerSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  work: number; // byte address of this worker's packing scratch
}

type Sgemm = (...args: KernelArgs) => void;

/** The module's exports with sgemm's arguments: sgemm, and the decode-step products of gemv.ts. */
export const KernelKind = { sgemm: 0, gemvF32: 1, gemvBf16: 2 } as const;
export type KernelKind = (typeof KernelKind)[keyof typeof KernelKind];
/** The kernels by kind, as each thread's instance exports them. */
export type Kernels = readonly [Sgemm, Sgemm, Sgemm];

/** Bytes per element of B for each kind (B of gemvBf16 holds bfloat16). */
const B_BYTES = [4, 4, 2] as const;

/** This instance's kernels, indexed by KernelKind. */
export function kernelsOf(exports: { sgemm: Sgemm; gemvF32: Sgemm; gemvBf16: Sgemm }): Kernels {
  return [exports.sgemm, exports.gemvF32, exports.gemvBf16];
}

export class WorkerPool {
  private readonly ctl: Int32Array;
  private readonly floats: Float32Array;
  private seq = 0;

  /** Starts one worker per entry of `work`, the byte address of that worker's packing scratch. */
  constructor(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    readonly work: number[],
  ) {
    const control = new SharedArrayBuffer(SLOTS * 4);
    this.ctl = new Int32Array(control);
    this.floats = new Float32Array(control);
    for (const scratch of work) {
      const workerData: WorkerSetup = { module, memory, control, work: scratch };
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData });
      // NOTE: unref, or the idle workers (blocked in Atomics.wait) would keep every process alive forever.
      worker.unref();
      worker.on('error', () => Atomics.store(this.ctl, Slot.failed, 1));
    }
  }

  get size(): number {
    return this.work.length;
  }

  /** How many workers have started; they start in the background, and until then the caller works alone. */
  ready(): number {
    return Atomics.load(this.ctl, Slot.ready);
  }

  /**
   * Runs `args` as `slices` slices of `sliceSize` rows (byRows) or columns of C, on this thread (with
   * packing scratch `work`) and whichever workers are ready; returns when every slice is done.
   */
  run(
    args: KernelArgs,
    byRows: boolean,
    sliceSize: number,
    slices: number,
    work: number,
    kernels: Kernels,
    timeoutMs: number,
    kind: KernelKind = KernelKind.sgemm,
  ): void {
    if (slices > MAX_SLICES) throw new RangeError(`${slices} slices; at most ${MAX_SLICES}`);
    const { ctl, floats } = this;
    args.forEach((v, i) => {
      if (i === 5 || i === 10) floats[Slot.args + i] = v;
      else ctl[Slot.args + i] = v;
    });
    ctl[Slot.kind] = kind;
    ctl[Slot.byRows] = byRows ? 1 : 0;
    ctl[Slot.sliceSize] = sliceSize;
    ctl[Slot.slices] = slices;
    Atomics.store(ctl, Slot.finished, 0);
    const seq = (this.seq = (this.seq + 1) | 0);
    Atomics.store(ctl, Slot.claim, (seq & 0xffff) << 16); // publishes everything written above
    Atomics.store(ctl, Slot.seq, seq);
    Atomics.notify(ctl, Slot.seq);
    runSlices(ctl, floats, seq, work, kernels);
    this.waitUntilFinished(slices, timeoutMs);
  }

  private waitUntilFinished(slices: number, timeoutMs: number): void {
    const start = Date.now();
    // Spin first: this thread has nothing else to do, and a futex wake-up costs ~0.1 ms on a VM.
    for (let spins = 0, done: number; (done = Atomics.load(this.ctl, Slot.finished)) < slices; spins++) {
      if (spins < 20_000) continue;
      if (Atomics.load(this.ctl, Slot.failed) || Date.now() - start > timeoutMs) {
        throw new Error('a wasm sgemm worker failed or stopped responding; RLHF_BLAS_THREADS=1 runs without workers');
      }
      Atomics.wait(this.ctl, Slot.finished, done, 1);
    }
  }
}

/** Claims and runs slices of job `seq` until none are left (or the job is no longer current). */
function runSlices(ctl: Int32Array, floats: Float32Array, seq: number, work: number, kernels: Kernels): void {
  const tag = (seq & 0xffff) << 16;
  for (;;) {
    const claim = Atomics.load(ctl, Slot.claim);
    const i = claim & 0xffff;
    if ((claim & ~0xffff) !== tag || i >= ctl[Slot.slices]) return;
    if (Atomics.compareExchange(ctl, Slot.claim, claim, claim + 1) !== claim) continue;
    kernels[ctl[Slot.kind]](...sliceArgs(ctl, floats, i, work));
    if (Atomics.add(ctl, Slot.finished, 1) + 1 === ctl[Slot.slices]) Atomics.notify(ctl, Slot.finished);
  }
}

/** The arguments for slice `i` of the current job: the product restricted to those rows or columns of C. */
function sliceArgs(ctl: Int32Array, floats: Float32Array, i: number, work: number): KernelArgs {
  const at = (k: number) => ctl[Slot.args + k];
  const args: KernelArgs = [
    at(0),
    at(1),
    at(2),
    at(3),
    at(4),
    floats[Slot.args + 5],
    at(6),
    at(7),
    at(8),
    at(9),
    floats[Slot.args + 10],
    at(11),
    at(12),
    work,
  ];
  const [tA, tB, M, N, , , a, lda, b, ldb, , c, ldc] = args;
  const size = ctl[Slot.sliceSize],
    from = i * size;
  if (ctl[Slot.byRows]) {
    args[2] = Math.min(size, M - from);
    args[6] = a + 4 * (tA ? from : from * lda);
    args[11] = c + 4 * from * ldc;
  } else {
    args[3] = Math.min(size, N - from);
    args[8] = b + B_BYTES[ctl[Slot.kind]] * (tB ? from * ldb : from);
    args[11] = c + 4 * from;
  }
  return args;
}

/** The worker side (worker.ts): wait for a job, help with its slices, wait again. Never returns. */
export function serveJobs(setup: WorkerSetup, kernels: Kernels): never {
  const ctl = new Int32Array(setup.control);
  const floats = new Float32Array(setup.control);
  let seen = Atomics.load(ctl, Slot.seq);
  Atomics.add(ctl, Slot.ready, 1);
  for (;;) {
    // Spin a little before sleeping: the decode kernels send dozens of small products per token, a few
    // microseconds apart, and a futex wake-up for each costs more than the product.
    for (let spins = 0; spins < SPINS && Atomics.load(ctl, Slot.seq) === seen; spins++);
    Atomics.wait(ctl, Slot.seq, seen);
    seen = Atomics.load(ctl, Slot.seq);
    try {
      runSlices(ctl, floats, seen, setup.work, kernels);
    } catch {
      Atomics.store(ctl, Slot.failed, 1);
    }
  }
}
