// Worker threads for the wasm sgemm kernel: every thread runs the same compiled module on one shared
// WebAssembly.Memory, so a product is split by handing each worker a slice of rows (or columns) of C.
//
// The handshake is synchronous (Atomics on a SharedArrayBuffer, no messages): the caller's sgemm must
// return with C complete, and postMessage would need the event loop the caller is blocking.
import { Worker } from 'node:worker_threads';

/** One worker's slots in the control block (int32 indices). */
export const Slot = {
  job: 0, // sequence number of the latest job, bumped by the main thread; -1 asks the worker to exit
  done: 1, // sequence number of the latest finished job, set by the worker
  ready: 2, // 1 once the worker has instantiated the module
  failed: 3, // 1 if the worker's last job threw
  args: 4, // transA, transB, M, N, K, alpha (f32 bits), a, lda, b, ldb, beta (f32 bits), c, ldc, work
} as const;
export const SLOTS = 32; // per worker; 128 bytes keeps two workers' slots off one cache line

/** The arguments of the kernel's sgemm export, in order. */
export type KernelArgs = [transA: number, transB: number, M: number, N: number, K: number, alpha: number,
  a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number, work: number];

export interface WorkerSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  index: number;
}

export class WorkerPool {
  private readonly control: Int32Array;
  private readonly floats: Float32Array;
  private seq = 0;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, readonly size: number) {
    const control = new SharedArrayBuffer(size * SLOTS * 4);
    this.control = new Int32Array(control);
    this.floats = new Float32Array(control);
    for (let index = 0; index < size; index++) {
      const workerData: WorkerSetup = { module, memory, control, index };
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData });
      // NOTE: unref, or the idle workers (blocked in Atomics.wait) would keep every process alive forever.
      worker.unref();
      worker.on('error', () => Atomics.store(this.control, index * SLOTS + Slot.failed, 1));
    }
  }

  /** How many workers have started; they start in the background, and until then the caller works alone. */
  ready(): number {
    let n = 0;
    while (n < this.size && Atomics.load(this.control, n * SLOTS + Slot.ready) === 1) n++;
    return n;
  }

  /** Starts workers 0..jobs.length-1 on their jobs; `wait` then blocks until all have finished. */
  start(jobs: KernelArgs[]): void {
    this.seq++;
    jobs.forEach((args, w) => {
      const base = w * SLOTS;
      args.forEach((v, i) => {
        // alpha and beta (positions 5 and 10) travel as float32 bits; everything else is an int32.
        if (i === 5 || i === 10) this.floats[base + Slot.args + i] = v;
        else this.control[base + Slot.args + i] = v;
      });
      Atomics.store(this.control, base + Slot.job, this.seq);
      Atomics.notify(this.control, base + Slot.job);
    });
  }

  wait(jobs: number, timeoutMs: number): void {
    const deadline = Date.now() + timeoutMs;
    for (let w = 0; w < jobs; w++) {
      const done = w * SLOTS + Slot.done;
      for (let seen = Atomics.load(this.control, done); seen !== this.seq; seen = Atomics.load(this.control, done)) {
        if (Atomics.load(this.control, w * SLOTS + Slot.failed) || Date.now() > deadline) {
          throw new Error(`wasm sgemm worker ${w} failed or stopped responding; run with RLHF_THREADS=1 to avoid workers`);
        }
        Atomics.wait(this.control, done, seen, 100);
      }
    }
  }
}
