// Scalar heads on a model's final hidden states: the reward model's score and PPO's value head.

import type { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { RNG } from '../engine/rng.js';
import { Parameter, type Tensor } from '../engine/tensor.js';

/** A linear read-out to one number per position: the reward model's `score` or PPO's value head. */
export class ScalarHead {
  readonly params: Parameter[];
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  /**
   * @param prefix Hugging Face name: 'score' (GPT2ForSequenceClassification, no bias) or
   *   'v_head.summary' (TRL's value head, with bias).
   */
  constructor(
    readonly prefix: string,
    nEmbd: number,
    withBias: boolean,
    seed = 0,
  ) {
    const rng = new RNG(seed);
    this.weight = new Parameter(`${prefix}.weight`, rng.fillNormal(new Float32Array(nEmbd), 1 / Math.sqrt(nEmbd + 1)), [
      1,
      nEmbd,
    ]);
    this.bias = withBias ? new Parameter(`${prefix}.bias`, new Float32Array(1), [1]) : null;
    this.params = this.bias ? [this.weight, this.bias] : [this.weight];
  }

  /** hidden (…, C) → (N) scalars. */
  forward(g: Graph, hidden: Tensor): Tensor {
    const y = ops.linear(g, hidden, this.weight, this.bias, true);
    return ops.reshape(g, y, [y.size]);
  }
}

/** The reward model's head (scalar read at the final token). */
export const rewardHead = (nEmbd: number, seed = 0) => new ScalarHead('score', nEmbd, false, seed);
/** PPO's value head (one value per token). */
export const valueHead = (nEmbd: number, seed = 0) => new ScalarHead('v_head.summary', nEmbd, true, seed);
