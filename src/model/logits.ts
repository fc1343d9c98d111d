// The policy's next-token distribution, defined once for sampling and for log-probabilities:
// softmax(logits / temperature) over the tokenizer's vocabulary. A model's vocabulary may be padded
// past its tokenizer's (to a multiple of 64, say); those ids are never sampled, so they must get no
// probability in the log-probs of PPO's ratio, the KL to the reference and DPO either.

import { Graph } from '../engine/graph.js';
import { scaleAndMaskColumns, scaleAndMaskRow } from '../engine/ops/elementwise.js';
import { Tensor } from '../engine/tensor.js';

export interface DistributionOptions {
  /** Sampling temperature (> 0): the log-probs of sampled tokens are those of the tempered softmax. */
  temperature: number;
  /** Ids at or above this are excluded (the tokenizer's vocabulary size). */
  vocabSize: number;
}

export function checkDistributionOptions(o: DistributionOptions): void {
  if (!(o.temperature > 0 && Number.isFinite(o.temperature)))
    throw new Error(`temperature must be > 0 for log-probabilities of samples, got ${o.temperature}`);
  if (!(Number.isInteger(o.vocabSize) && o.vocabSize > 0))
    throw new Error(`vocabSize must be a positive integer, got ${o.vocabSize}`);
}

/** Logits (…, V) → the tempered, masked logits (…, V) whose softmax is the sampling distribution. */
export function policyLogits(g: Graph, logits: Tensor, o: DistributionOptions): Tensor {
  checkDistributionOptions(o);
  const V = logits.shape[logits.shape.length - 1];
  if (o.temperature === 1 && o.vocabSize >= V) return logits;
  return scaleAndMaskColumns(g, logits, 1 / o.temperature, Math.min(o.vocabSize, V));
}

/**
 * policyLogits for one row of plain numbers, the sampler's path (no graph): out[0 … V-1] gets the
 * tempered, masked logits[off … off+V-1], by the same rule.
 */
export function policyLogitsRow(
  logits: Float32Array,
  off: number,
  V: number,
  o: DistributionOptions,
  out: Float32Array,
): Float32Array {
  checkDistributionOptions(o);
  scaleAndMaskRow(logits, off, out, 0, V, 1 / o.temperature, Math.min(o.vocabSize, V));
  return out;
}
