// How training walks its data: the order of each epoch, the same in every trainer, so a step's batch
// depends only on the seed and the step (the split of a batch across threads: engine/split.ts).

import { RNG } from '../engine/rng.js';

/**
 * The order in which training visits n items, over as many epochs as it runs: epoch e is a
 * permutation drawn from (seed, e) alone, so the item at position k (step·B + j) depends only on k,
 * and a resumed run sees the same batches as one that never stopped.
 */
export class EpochOrder {
  private epoch = -1;
  private order: Int32Array = new Int32Array(0);

  constructor(
    readonly n: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`EpochOrder: needs at least one item, got ${n}`);
  }

  /** The permutation of epoch e. */
  static permutation(n: number, seed: number, epoch: number): Int32Array {
    const idx = Array.from({ length: n }, (_, i) => i);
    return Int32Array.from(new RNG((seed * 1000003 + epoch) >>> 0).shuffle(idx));
  }

  /** Index of the item at position k of the run (in epoch ⌊k/n⌋). */
  at(k: number): number {
    const e = Math.floor(k / this.n);
    if (e !== this.epoch) {
      this.order = EpochOrder.permutation(this.n, this.seed, e);
      this.epoch = e;
    }
    return this.order[k - e * this.n];
  }

  /** Indices of the B items of step `step` (positions step·B … step·B + B − 1). */
  batch(step: number, B: number): number[] {
    return Array.from({ length: B }, (_, j) => this.at(step * B + j));
  }
}
