// Data parallelism over worker threads: every thread holds a replica of the models whose weights
// live in SharedArrayBuffers (one copy in memory, updated in place by the optimizer on the main
// thread), runs the same step function on its share of the batch, and leaves its gradients in
// shared buffers that the main thread adds up. One synchronization per step.
//
// NOTE: step functions run in other isolates, so a worker finds them by module URL and export name
// (a Kernel handle made by defineKernel), never as closures; their arguments must be structured-cloneable.

import { availableParallelism } from 'node:os';
import { MessageChannel, MessagePort, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { gemm } from './gemm.js';
import { Parameter } from './tensor.js';

/** Where a worker finds a function: `export function name(replica, payload)` in the module at url. */
export interface KernelRef {
  url: string;
  name: string;
}

/** A typed handle on an exported step function: its location for workers, and the function itself. */
export interface Kernel<P, R, Rep = unknown> extends KernelRef {
  readonly fn: (replica: Rep, payload: P) => R;
}

/**
 * The handle of an exported function, named by the shorthand property it is passed in, so the name
 * is the identifier and a rename fails at compile time: `defineKernel(import.meta.url, { lmStep })`.
 * NOTE: the function must be exported under that same name from the module at url.
 */
export function defineKernel<Rep, P, R>(
  url: string,
  named: Record<string, (replica: Rep, payload: P) => R>,
): Kernel<P, R, Rep> {
  const names = Object.keys(named);
  if (names.length !== 1) throw new Error(`defineKernel takes one function, got ${names.length}: ${names.join(', ')}`);
  return { url, name: names[0], fn: named[names[0]] };
}

/** How to rebuild a set of named parameters in another thread (weights shared, gradients per thread). */
export interface ReplicaSpec {
  /** Cache key: the same key gives the same replica in a worker. */
  key: string;
  /** What the replica builder needs besides the weights (configs, head prefixes, …). */
  meta: unknown;
  /** Module and export that turn (meta, parameter map) into the replica object. */
  builder: KernelRef;
  weights: Record<string, { shape: number[]; data: SharedArrayBuffer }>;
  /** One gradient buffer per parameter, owned by the thread that gets this spec. */
  grads: Record<string, SharedArrayBuffer>;
}

/** The replica of a kernel that needs none (its shared buffers come with the payload). */
export function noReplica(): Record<string, never> {
  return {};
}

/** The spec to start such a kernel with (AdamW's share of an update). */
export const NO_REPLICA: ReplicaSpec = {
  key: 'none',
  meta: null,
  builder: { url: import.meta.url, name: 'noReplica' },
  weights: {},
  grads: {},
};

/** Moves each parameter's data (and gradient) into SharedArrayBuffers, once. */
export function shareParameters(params: Parameter[]): void {
  for (const p of params) {
    if (!(p.data.buffer instanceof SharedArrayBuffer)) {
      const d = new Float32Array(new SharedArrayBuffer(p.data.byteLength));
      d.set(p.data);
      p.data = d;
    }
  }
}

/** Moves each trainable parameter's gradient into a SharedArrayBuffer (made, zeroed, if it has none), once. */
export function shareGradients(params: Parameter[]): void {
  for (const p of params) {
    if (!p.requiresGrad || p.grad?.buffer instanceof SharedArrayBuffer) continue;
    const g = new Float32Array(new SharedArrayBuffer(p.size * 4));
    if (p.grad) g.set(p.grad);
    p.grad = g;
  }
}

/** Threads for data parallelism: RLHF_THREADS, or every core (1 = no workers). */
export function computeThreads(): number {
  const env = process.env.RLHF_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`RLHF_THREADS must be a positive integer, got "${env}"`);
    return n;
  }
  return Math.max(1, availableParallelism());
}

interface Slot {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}

const WORKER_URL = new URL('./parallel-worker.js', import.meta.url);

/** A fixed set of worker threads, created on first use and unref'd so they never keep the process alive. */
export class WorkerPool {
  private static instance: WorkerPool | null | undefined;
  private readonly slots: Slot[] = [];

  /** The pool, or null when only one thread is to be used. */
  static get(): WorkerPool | null {
    if (WorkerPool.instance === undefined) {
      const n = computeThreads();
      WorkerPool.instance = n > 1 ? new WorkerPool(n - 1) : null;
    }
    return WorkerPool.instance;
  }

  private constructor(readonly size: number) {
    // NOTE: the BLAS library must be loaded by the main thread first: OpenBLAS reads its CPU hint
    // (OPENBLAS_CORETYPE) from the real environment, which a worker's process.env does not change.
    gemm();
    for (let i = 0; i < size; i++) {
      const { port1, port2 } = new MessageChannel();
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const worker = new Worker(WORKER_URL, {
        workerData: { port: port2, flag: flag.buffer },
        transferList: [port2],
        // Workers run single-threaded BLAS: the parallelism is across threads here, not inside sgemm.
        env: { ...process.env, RLHF_THREADS: '1', RLHF_WORKER: '1' },
      });
      worker.unref();
      port1.unref();
      this.slots.push({ worker, port: port1, flag });
    }
  }

  /** Starts kernel(replica, payload) on worker i; collect the result with wait(i). */
  start(i: number, kernel: KernelRef, replica: ReplicaSpec, payload: unknown): void {
    const s = this.slots[i];
    Atomics.store(s.flag, 0, 0);
    s.port.postMessage({ kernel: { url: kernel.url, name: kernel.name }, replica, payload });
  }

  /**
   * Blocks until worker i is done; returns its result, and whether the kernel ran a backward pass (then its
   * gradient buffers hold what it computed; else they are zero). Throws the worker's error.
   */
  wait(i: number): { result: unknown; grads: boolean } {
    const s = this.slots[i];
    while (Atomics.load(s.flag, 0) === 0) Atomics.wait(s.flag, 0, 0, 1000);
    const msg = receiveMessageOnPort(s.port);
    if (!msg) throw new Error('worker finished without a result');
    const m = msg.message as { ok: boolean; result?: unknown; grads?: boolean; error?: string };
    if (!m.ok) throw new Error(`in a worker thread: ${m.error}`);
    return { result: m.result, grads: !!m.grads };
  }

  /** Stops the workers (tests). */
  static async shutdown(): Promise<void> {
    const p = WorkerPool.instance;
    WorkerPool.instance = undefined;
    if (p) await Promise.all(p.slots.map((s) => s.worker.terminate()));
  }
}
