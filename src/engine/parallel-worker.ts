// The worker side of WorkerPool: builds (and caches) replicas, runs kernels, signals completion.

import { MessagePort, workerData } from 'node:worker_threads';
import type { KernelRef, ReplicaSpec } from './parallel.js';

const { port, flag: flagBuf } = workerData as { port: MessagePort; flag: SharedArrayBuffer };
const flag = new Int32Array(flagBuf);
const modules = new Map<string, Record<string, unknown>>();
const replicas = new Map<string, unknown>();

async function resolve(ref: KernelRef): Promise<(...args: unknown[]) => unknown> {
  let mod = modules.get(ref.url);
  if (!mod) modules.set(ref.url, (mod = (await import(ref.url)) as Record<string, unknown>));
  const fn = mod[ref.name];
  if (typeof fn !== 'function') throw new Error(`${ref.url} has no exported function ${ref.name}`);
  return fn as (...args: unknown[]) => unknown;
}

port.on('message', async (msg: { kernel: KernelRef; replica: ReplicaSpec; payload: unknown }) => {
  try {
    let replica = replicas.get(msg.replica.key);
    if (!replica) {
      const build = await resolve(msg.replica.builder);
      replica = build(msg.replica);
      replicas.set(msg.replica.key, replica);
    }
    const fn = await resolve(msg.kernel);
    const result = fn(replica, msg.payload);
    port.postMessage({ ok: true, result });
  } catch (e) {
    port.postMessage({ ok: false, error: (e as Error).stack ?? String(e) });
  }
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
