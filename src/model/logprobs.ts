// Per-token log-probabilities of completions under a model (the policy, or the frozen reference):
// the quantities of KL penalties, PPO ratios and DPO. runtime/logprobs.ts batches them across threads.

import { Graph } from '../engine/graph.js';
import { IGNORE_INDEX } from '../engine/ops/loss.js';
import type { CausalLM } from './causal-lm.js';
import { headLogProbs } from './lm-head.js';
import type { DistributionOptions } from './logits.js';

/** A prompt and its completion, as token ids. */
export interface TokenPair {
  prompt: number[];
  completion: number[];
}

/** Inputs and targets of a batch: targets are the completion tokens, -100 elsewhere. */
export function completionBatch(
  pairs: TokenPair[],
  padId: number,
): { ids: Int32Array; targets: Int32Array; B: number; T: number } {
  const longest = Math.max(1, ...pairs.map((p) => p.prompt.length + p.completion.length - 1));
  const T = (longest + 3) & ~3;
  const B = pairs.length;
  const ids = new Int32Array(B * T).fill(padId),
    targets = new Int32Array(B * T).fill(IGNORE_INDEX);
  pairs.forEach((p, b) => {
    const seq = [...p.prompt, ...p.completion];
    if (p.prompt.length === 0)
      throw new Error(
        `completion ${b} has an empty prompt: give at least one prompt token (e.g. the end-of-text token)`,
      );
    for (let t = 0; t + 1 < seq.length; t++) {
      ids[b * T + t] = seq[t];
      if (t + 1 >= p.prompt.length) targets[b * T + t] = seq[t + 1];
    }
  });
  return { ids, targets, B, T };
}

/**
 * log p(completion token | prefix) for each pair, in one batch on this thread (no gradients), under
 * the sampling distribution (policyLogits: temperature and vocabulary; default temperature 1 over the
 * whole vocabulary of the model).
 */
export function pairLogProbs(
  model: CausalLM,
  pairs: TokenPair[],
  padId: number,
  dist: DistributionOptions = { temperature: 1, vocabSize: model.config.vocabSize },
): number[][] {
  const { ids, targets, B, T } = completionBatch(pairs, padId);
  const g = Graph.inference();
  // Through the fused head: no (B·T, V) logits, only the completion rows are computed.
  const lp = headLogProbs(g, model, model.hidden(g, ids, B, T), targets, dist).data;
  const out = pairs.map((p, b) => {
    const start = p.prompt.length - 1;
    return Array.from(lp.subarray(b * T + start, b * T + start + p.completion.length));
  });
  g.dispose();
  return out;
}
