// Log-probabilities of given tokens through a model's LM head, fused with the softmax
// (engine/ops/lm-head.ts): the training and scoring paths never hold (B·T, V) logits, which for a real
// vocabulary (49k–152k ids) are gigabytes. Sampling, which needs whole rows, keeps model.logits() on the
// last positions. The distribution is policyLogits' (model/logits.ts): softmax(logits / temperature)
// over ids below vocabSize.

import type { Graph } from '../engine/graph.js';
import { lmHeadCrossEntropy, lmHeadLogProbs, lmHeadLogProbsAndEntropy } from '../engine/ops/lm-head.js';
import type { Tensor } from '../engine/tensor.js';
import type { CausalLM } from './causal-lm.js';
import { type DistributionOptions, checkDistributionOptions } from './logits.js';

/** The model's own distribution: temperature 1 over its whole vocabulary. */
function plain(model: CausalLM): DistributionOptions {
  return { temperature: 1, vocabSize: model.config.vocabSize };
}

/**
 * log p(targets[i] | hidden row i) under the sampling distribution: hidden (…, C) with N rows, targets (N),
 * -100 where no value is wanted (0 there, no gradient). Returns (N). Equal to
 * tokenLogProbs(policyLogits(model.logits(hidden), dist), targets).
 */
export function headLogProbs(
  g: Graph,
  model: CausalLM,
  hidden: Tensor,
  targets: Int32Array,
  dist: DistributionOptions = plain(model),
): Tensor {
  checkDistributionOptions(dist);
  return lmHeadLogProbs(g, hidden, model.lmHead, targets, dist);
}

/** headLogProbs and each row's entropy of the same distribution (N), 0 where the target is negative. */
export function headLogProbsAndEntropy(
  g: Graph,
  model: CausalLM,
  hidden: Tensor,
  targets: Int32Array,
  dist: DistributionOptions = plain(model),
): { logp: Tensor; entropy: Tensor } {
  checkDistributionOptions(dist);
  return lmHeadLogProbsAndEntropy(g, hidden, model.lmHead, targets, dist);
}

/**
 * The causal LM loss from hidden states: crossEntropy(model.logits(hidden), targets, weights), i.e. the
 * (weighted) mean next-token cross-entropy over the whole vocabulary of the model at temperature 1.
 */
export function headLoss(
  g: Graph,
  model: CausalLM,
  hidden: Tensor,
  targets: Int32Array,
  weights?: ArrayLike<number>,
): Tensor {
  return lmHeadCrossEntropy(g, hidden, model.lmHead, targets, weights);
}
