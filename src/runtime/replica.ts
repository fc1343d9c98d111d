// Replicas of models in worker threads, for data parallelism (see engine/parallel.ts): the same
// GPTs and heads, their weights shared with the main thread, their gradients their own.
// The runtime layer sits above src/model (single-thread models) and below data and train.

import type { Parameter } from '../engine/tensor.js';
import {
  type Kernel,
  type ReplicaSpec,
  WorkerPool,
  defineKernel,
  shareGradients,
  shareParameters,
} from '../engine/parallel.js';
import type { ModelConfig } from '../model/config.js';
import type { CausalLM } from '../model/causal-lm.js';
import { createModel } from '../model/create-model.js';
import { ScalarHead } from '../model/heads.js';
import { attachLora, loraOf, loraParams, withAdaptersDisabled } from '../model/lora.js';

/** The models a step function works on, by role ('policy', 'reference', 'reward', …). */
export interface Replica {
  models: Record<string, CausalLM>;
  heads: Record<string, ScalarHead>;
  /** Run the models with their LoRA adapters off: the base models (DPO's and PPO's reference). */
  baseOnly?: boolean;
}

/** A model's LoRA adapters, for a worker to attach the same ones (their weights and switch shared). */
interface LoraSpec {
  rank: number;
  alpha: number;
  dropout: number;
  /** The adapted modules' full names. */
  modules: string[];
  seed: number;
  /** The model's LoraState.shared: the adapters' on/off switch and training step. */
  shared: SharedArrayBuffer;
}

interface ReplicaMeta {
  models: Record<string, { config: ModelConfig; lora: LoraSpec | null }>;
  heads: Record<string, { prefix: string; nEmbd: number; bias: boolean }>;
  /** The worker's index: its LoRA dropout masks are its own. */
  worker: number;
  /** The roles whose models recompute activations in backward (CausalLM.gradientCheckpointing). */
  checkpointed: string[];
}

function loraSpecOf(m: CausalLM): LoraSpec | null {
  const s = loraOf(m);
  if (!s) return null;
  const { rank, alpha, dropout, seed = 0 } = s.config;
  return { rank, alpha, dropout, modules: [...s.adapters.keys()], seed, shared: s.shared.buffer as SharedArrayBuffer };
}

const ids = new WeakMap<object, number>();
let nextId = 1;
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}

/** Every parameter of a replica (LoRA adapters included), keyed "role/name". */
export function replicaParams(r: Replica): Map<string, Parameter> {
  const out = new Map<string, Parameter>();
  for (const [role, m] of Object.entries(r.models))
    for (const p of [...m.params, ...loraParams(m)]) out.set(`${role}/${p.name}`, p);
  for (const [role, h] of Object.entries(r.heads)) for (const p of h.params) out.set(`${role}/${p.name}`, p);
  return out;
}

/**
 * Specs that rebuild `r` in each worker of the pool: weights moved to shared memory (once), one set
 * of gradient buffers per worker for the trainable parameters (kept, so later steps reuse them).
 */
export class ReplicaSet {
  readonly specs: ReplicaSpec[];
  readonly workerGrads: Map<string, Float32Array>[];

  constructor(
    readonly main: Replica,
    workers: number,
  ) {
    const params = replicaParams(main);
    shareParameters([...params.values()]);
    // The main thread's gradients too: the optimizer's update is split across the threads (engine/optim.ts).
    shareGradients([...params.values()]);
    const key = replicaKey(main);
    const meta: Omit<ReplicaMeta, 'worker'> = {
      models: Object.fromEntries(
        Object.entries(main.models).map(([k, m]) => [k, { config: m.config, lora: loraSpecOf(m) }]),
      ),
      heads: Object.fromEntries(
        Object.entries(main.heads).map(([k, h]) => [
          k,
          { prefix: h.prefix, nEmbd: h.weight.size, bias: h.bias !== null },
        ]),
      ),
      checkpointed: checkpointedRoles(main),
    };
    const weights = Object.fromEntries(
      [...params].map(([k, p]) => [k, { shape: [...p.shape], data: p.data.buffer as SharedArrayBuffer }]),
    );
    this.specs = [];
    this.workerGrads = [];
    for (let w = 0; w < workers; w++) {
      const grads: Record<string, SharedArrayBuffer> = {};
      const views = new Map<string, Float32Array>();
      for (const [k, p] of params) {
        if (!p.requiresGrad) continue;
        grads[k] = new SharedArrayBuffer(p.data.byteLength);
        views.set(k, new Float32Array(grads[k]));
      }
      this.specs.push({
        key: `${key}#${w}`,
        meta: { ...meta, worker: w },
        builder: { url: builderKernel.url, name: builderKernel.name },
        weights,
        grads,
      });
      this.workerGrads.push(views);
    }
  }

  /** Adds worker w's gradients into the main replica's. */
  addWorkerGrads(w: number): void {
    const params = replicaParams(this.main);
    for (const [k, g] of this.workerGrads[w]) {
      const p = params.get(k)!;
      const dst = p.grad ?? (p.grad = new Float32Array(p.size));
      for (let i = 0; i < dst.length; i++) dst[i] += g[i];
    }
  }
}

/** Builds a replica in a worker from its spec (the `builder` of ReplicaSet's specs). */
export function buildReplica(spec: ReplicaSpec): Replica {
  const meta = spec.meta as ReplicaMeta;
  const r: Replica = { models: {}, heads: {} };
  for (const [role, { config, lora }] of Object.entries(meta.models)) {
    // Uninitialized: the weights are the main thread's, shared.
    const m = createModel(config, null);
    if (lora) {
      const { rank, alpha, dropout, modules, seed } = lora;
      // The worker's own dropout masks (its shard's), seeded per worker.
      const shared = new Int32Array(lora.shared);
      attachLora(
        m,
        { rank, alpha, dropout, targets: modules, seed },
        { shared, dropoutSeed: seed + 7919 * (meta.worker + 1) },
      );
    }
    r.models[role] = m;
  }
  for (const [role, h] of Object.entries(meta.heads)) r.heads[role] = new ScalarHead(h.prefix, h.nEmbd, h.bias);
  for (const role of meta.checkpointed) r.models[role].gradientCheckpointing = true;
  for (const [k, p] of replicaParams(r)) {
    const w = spec.weights[k],
      gr = spec.grads[k];
    if (!w) throw new Error(`replica ${spec.key}: no shared buffer for ${k}`);
    p.data = new Float32Array(w.data);
    // A parameter without a gradient buffer is frozen on the main thread too.
    if (gr) {
      p.requiresGrad = true;
      p.grad = new Float32Array(gr);
    } else p.freeze();
  }
  return r;
}

const builderKernel = defineKernel(import.meta.url, { buildReplica });

/**
 * Replica sets, per first model (or head) of the replica: held weakly, so a model that is no longer
 * used releases its sets (gradient buffers) on this thread.
 * NOTE: a worker keeps its replicas of every model it has seen for the life of the process.
 */
const sets = new WeakMap<object, Map<string, ReplicaSet>>();

/** Which models and heads, with which adapters and which parameters trainable (each gives its own replicas). */
function replicaKey(r: Replica): string {
  const key = Object.entries(r.models)
    .map(([k, m]) => {
      const lora = loraOf(m);
      const trainable = [...m.params, ...loraParams(m)].filter((p) => p.requiresGrad).length;
      return `${k}:${idOf(m)}${lora ? `+lora${idOf(lora)}` : ''}/${trainable}`;
    })
    .concat(Object.entries(r.heads).map(([k, h]) => `${k}:${idOf(h)}`))
    .join(',');
  // NOTE: a model switched to checkpointing after its first sharded step gets new replicas, that follow it.
  const checkpointed = checkpointedRoles(r);
  return checkpointed.length ? `${key};checkpointed:${checkpointed.join(',')}` : key;
}

function checkpointedRoles(r: Replica): string[] {
  return Object.entries(r.models)
    .filter(([, m]) => m.gradientCheckpointing)
    .map(([k]) => k);
}

function replicaSetFor(main: Replica, pool: WorkerPool): ReplicaSet {
  const anchor = Object.values(main.models)[0] ?? Object.values(main.heads)[0];
  if (!anchor) throw new Error('runSharded: the replica has no model');
  let byKey = sets.get(anchor);
  if (!byKey) sets.set(anchor, (byKey = new Map()));
  const key = `${replicaKey(main)}@${pool.size}`;
  let set = byKey.get(key);
  if (!set) byKey.set(key, (set = new ReplicaSet(main, pool.size)));
  return set;
}

/** Shards to split a batch into: one per thread of the pool (1 without workers). */
export function shardCount(): number {
  const pool = WorkerPool.get();
  return pool ? pool.size + 1 : 1;
}

/**
 * Runs a step function on each shard: shard 0 on this thread with `main`, shard k on worker k-1
 * with its replica; then adds the workers' gradients into main's. At most shardCount() shards.
 */
export function runSharded<P, R>(main: Replica, kernel: Kernel<P, R, Replica>, shards: P[]): R[] {
  if (main.baseOnly) {
    // NOTE: the adapters' switch is shared memory, so the workers' replicas switch with the models.
    const models = Object.values(main.models);
    const run = (i: number): R[] =>
      i < models.length
        ? withAdaptersDisabled(models[i], () => run(i + 1))
        : runSharded({ models: main.models, heads: main.heads }, kernel, shards);
    return run(0);
  }
  const local = kernel.fn;
  const pool = WorkerPool.get();
  if (!pool || shards.length <= 1) return shards.map((s) => local(main, s));
  if (shards.length > pool.size + 1)
    throw new Error(`runSharded: ${shards.length} shards for ${pool.size + 1} threads`);
  const set = replicaSetFor(main, pool);
  const n = shards.length - 1;
  // NOTE: a worker zeroes its own gradient buffers before a kernel, where the last one left gradients.
  for (let w = 0; w < n; w++) pool.start(w, kernel, set.specs[w], shards[w + 1]);
  let first: R;
  try {
    first = local(main, shards[0]);
  } catch (e) {
    // Collect the workers' answers first, so no stale result is left for the next call.
    for (let w = 0; w < n; w++)
      try {
        pool.wait(w);
      } catch {
        /* the main thread's error wins */
      }
    throw e;
  }
  const results: R[] = [first];
  for (let w = 0; w < n; w++) {
    const { result, grads } = pool.wait(w);
    results.push(result as R);
    if (grads) set.addWorkerGrads(w);
  }
  return results;
}
