// Held-out loss of a language model on fixed batches (SFT, Chain of Hindsight).

import { Graph } from '../engine/graph.js';
import type { LMBatch } from '../data/lm-batches.js';
import type { CausalLM } from '../model/causal-lm.js';

/** Mean next-token loss of a model over fixed batches, weighted by their loss-bearing tokens (no gradients). */
export function evalLoss(model: CausalLM, batches: LMBatch[]): number {
  let total = 0,
    count = 0;
  for (const b of batches) {
    const g = Graph.inference();
    total += model.loss(g, b.ids, b.targets, b.B, b.T).item() * b.tokens;
    count += b.tokens;
    g.dispose();
  }
  return count > 0 ? total / count : NaN;
}
