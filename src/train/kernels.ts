// Step functions that run on every thread of data-parallel training (engine/parallel.ts). Each
// takes a replica and its shard of the batch, runs forward and backward into the replica's
// gradients, and returns plain numbers.

import { Graph } from '../engine/graph.js';
import { KernelRef } from '../engine/parallel.js';
import { Replica } from '../model/replica.js';

const here = import.meta.url;
export const kernel = (name: string): KernelRef => ({ url: here, name });

export interface LMShard {
  ids: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  /** Share of the whole batch's loss-bearing tokens in this shard (scales its gradient). */
  weight: number;
}

/** Next-token cross-entropy of the 'policy' model on one shard. Returns the shard's mean loss. */
export function lmStep(r: Replica, s: LMShard): number {
  const g = new Graph();
  const loss = r.models.policy.loss(g, s.ids, s.targets, s.B, s.T);
  g.backward(loss, s.weight);
  const v = loss.item();
  g.dispose();
  return v;
}

/** Splits a (B, T) token batch by rows into up to n shards weighted by their loss-bearing tokens. */
export function shardLM(ids: Int32Array, targets: Int32Array, B: number, T: number, n: number): LMShard[] {
  const parts = Math.max(1, Math.min(n, B));
  let total = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) total++;
  const shards: LMShard[] = [];
  for (let k = 0; k < parts; k++) {
    const b0 = Math.floor((k * B) / parts), b1 = Math.floor(((k + 1) * B) / parts);
    const t = targets.slice(b0 * T, b1 * T);
    let count = 0;
    for (let i = 0; i < t.length; i++) if (t[i] >= 0) count++;
    shards.push({ ids: ids.slice(b0 * T, b1 * T), targets: t, B: b1 - b0, T, weight: total > 0 ? count / total : 0 });
  }
  return shards;
}
