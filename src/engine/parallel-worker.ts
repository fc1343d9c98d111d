// The worker side of WorkerPool: builds (and caches) replicas, runs kernels, signals completion.

import { MessagePort, workerData } from 'node:worker_threads';
import { Graph } from './graph.js';
import type { KernelRef, ReplicaSpec } from './parallel.js';

const { port, flag: flagBuf } = workerData as { port: MessagePort; flag: SharedArrayBuffer };
const flag = new Int32Array(flagBuf);
const modules = new Map<string, Record<string, unknown>>();
const replicas = new Map<string, unknown>();
/** Replicas whose gradient buffers hold a kernel's gradients, zeroed here before the replica's next kernel. */
const dirty = new Set<string>();

async function resolve(ref: KernelRef): Promise<(...args: unknown[]) => unknown> {
  let mod = modules.get(ref.url);
  if (!mod) modules.set(ref.url, (mod = (await import(ref.url)) as Record<string, unknown>));
  const fn = mod[ref.name];
  if (typeof fn !== 'function') throw new Error(`${ref.url} has no exported function ${ref.name}`);
  return fn as (...args: unknown[]) => unknown;
}

port.on('message', async (msg: { kernel: KernelRef; replica: ReplicaSpec; payload: unknown }) => {
  const passes = Graph.backwardPasses;
  try {
    let replica = replicas.get(msg.replica.key);
    if (!replica) {
      const build = await resolve(msg.replica.builder);
      replica = build(msg.replica);
      replicas.set(msg.replica.key, replica);
    }
    const fn = await resolve(msg.kernel);
    // The main thread has added the last kernel's gradients by now: zero them here, in parallel with the
    // other threads, and only where a backward pass wrote them (scoring and sampling leave them untouched).
    if (dirty.delete(msg.replica.key)) for (const g of Object.values(msg.replica.grads)) new Float32Array(g).fill(0);
    const result = fn(replica, msg.payload);
    port.postMessage({ ok: true, result, grads: Graph.backwardPasses !== passes });
  } catch (e) {
    port.postMessage({ ok: false, error: (e as Error).stack ?? String(e) });
  }
  // Also after an error: a backward pass cut short leaves gradients that the next kernel must not add to.
  if (Graph.backwardPasses !== passes) dirty.add(msg.replica.key);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
