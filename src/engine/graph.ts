// The autograd tape. Each op computes its output now and, when gradients are needed, pushes a
// backward closure; `backward` runs them in reverse. Intermediate buffers come from a pool and go
// back to it on `dispose`, so a training step allocates nothing once the pool is warm.

import { BufferPool, type PoolStats } from './buffer-pool.js';
import { RNG, type RNGState } from './rng.js';
import { Parameter, Shape, Tensor, shapeSize } from './tensor.js';

// ---- buffer pool ----

const pool = new BufferPool();

/** Drops all pooled buffers (e.g. between benchmarks of different sizes). */
export function clearPool(): void {
  pool.clear();
}

/** Floats pooled and in use on this thread (memory diagnostics and tests). */
export function poolStats(): PoolStats {
  return pool.stats();
}

// ---- graph ----

/**
 * The part a graph plays in a checkpointed region (ops/checkpoint.ts): its forward, a training graph
 * that keeps no tape, or its recomputation in backward, which replays the forward's random numbers.
 */
export interface CheckpointRegion {
  phase: 'forward' | 'recompute';
  /** Each generator the forward drew from (see Graph.random), with its state before the first draw. */
  random: Map<RNG, RNGState>;
  /** In the recomputation, the copies that replay them. */
  replays: Map<RNG, RNG>;
  /** Forward: the buffers of the region's inputs and intermediates, the tensors gradients may flow through. */
  buffers: Set<ArrayBufferLike>;
}

export class Graph {
  /**
   * Backward passes run in this thread so far. A worker compares it before and after a kernel: only a kernel
   * that ran one left gradients for the main thread to add (engine/parallel-worker.ts).
   */
  static backwardPasses = 0;
  private tape: Array<{ out: Tensor; fn: () => void }> = [];
  private owned: Float32Array[] = [];
  private disposed = false;

  /**
   * @param recording false for inference (no tape, no gradients), e.g. sampling and scoring.
   * @param region set by ops.checkpoint only: the graph of a checkpointed region's forward or recomputation.
   */
  constructor(
    readonly recording = true,
    readonly region: CheckpointRegion | null = null,
  ) {}

  static inference(): Graph {
    return new Graph(false);
  }

  /** An uninitialized buffer of n floats owned by this graph. NOTE: contents are stale; write every element. */
  alloc(n: number): Float32Array {
    this.checkLive();
    const buf = pool.take(n);
    this.owned.push(buf);
    if (this.region?.phase === 'forward') this.region.buffers.add(buf.buffer);
    return buf;
  }

  /** A zero-filled buffer of n floats owned by this graph. */
  zeros(n: number): Float32Array {
    return this.alloc(n).fill(0);
  }

  /** A new tensor on a pooled buffer; requiresGrad when recording and any input needs gradients. */
  output(shape: Shape, ...inputs: Tensor[]): Tensor {
    const requiresGrad = this.recording && inputs.some((t) => t.requiresGrad);
    if (requiresGrad && this.region?.phase === 'forward') this.checkRegionInputs(inputs);
    return new Tensor(this.alloc(shapeSize(shape)), shape, requiresGrad);
  }

  /**
   * NOTE: a checkpointed region recomputes its gradients on a graph of its own, disposed right after; a
   * tensor it reads that needs gradients must be one of its inputs (or a Parameter, whose gradient
   * outlives graphs), or its gradient would be left in buffers given back to the pool.
   */
  private checkRegionInputs(inputs: Tensor[]): void {
    for (const t of inputs) {
      if (!t.requiresGrad || t instanceof Parameter || this.region!.buffers.has(t.data.buffer)) continue;
      throw new Error(
        `checkpoint: the checkpointed function reads a tensor of shape [${t.shape.join(', ')}] that needs ` +
          'gradients but is neither one of its inputs nor a Parameter; pass it in the inputs of ops.checkpoint',
      );
    }
  }

  /**
   * The generator an op draws this forward's random numbers from (dropout masks): `rng` itself, except in
   * the recomputation of a checkpointed region, where it is a copy replaying what the forward drew.
   * NOTE: every op that draws random numbers on a graph must draw them through this, in the same order
   * every time for the same inputs; else a checkpointed block's gradients are those of other masks.
   */
  random(rng: RNG): RNG {
    const r = this.region;
    if (!r) return rng;
    if (r.phase === 'forward') {
      if (!r.random.has(rng)) r.random.set(rng, rng.getState());
      return rng;
    }
    let copy = r.replays.get(rng);
    if (!copy) {
      const state = r.random.get(rng);
      if (!state) throw new Error('checkpoint: the recomputation draws from a generator its forward did not draw from');
      copy = new RNG();
      copy.setState(state);
      r.replays.set(rng, copy);
    }
    return copy;
  }

  /** The gradient buffer of t, created zero-filled (from the pool for intermediates) on first use. */
  gradOf(t: Tensor): Float32Array {
    if (!t.grad) t.grad = this.newGrad(t).fill(0);
    return t.grad;
  }

  /**
   * A new gradient buffer for t, set as t.grad. NOTE: an intermediate's comes from the pool with stale
   * contents (write every element); a Parameter's is its own, zero-filled, and outlives the graph.
   */
  newGrad(t: Tensor): Float32Array {
    t.grad = t instanceof Parameter ? new Float32Array(t.size) : this.alloc(t.size);
    return t.grad;
  }

  /** Adds src into t's gradient; the first contribution is a copy (memcpy), not zero-fill + add. */
  addGrad(t: Tensor, src: Float32Array): void {
    if (!t.grad) {
      this.newGrad(t).set(src);
      return;
    }
    const dst = t.grad;
    for (let i = 0; i < dst.length; i++) dst[i] += src[i];
  }

  /**
   * Registers how to push the output's gradient to the inputs. Skipped when nothing needs gradients, and
   * in a checkpointed region's forward (its recomputation records the tape instead).
   */
  onBackward(out: Tensor, fn: () => void): void {
    if (out.requiresGrad && this.region?.phase !== 'forward') this.tape.push({ out, fn });
  }

  /** Runs the tape in reverse; an op whose output never received a gradient (not on the loss's path) is skipped. */
  private runTape(): void {
    Graph.backwardPasses++;
    for (let i = this.tape.length - 1; i >= 0; i--) if (this.tape[i].out.grad) this.tape[i].fn();
    this.tape.length = 0;
  }

  /** Runs the tape backward from a scalar loss (seeded with dLoss = seed). */
  backward(loss: Tensor, seed = 1): void {
    if (!this.recording)
      throw new Error('backward() on an inference graph: create the graph with new Graph() to train');
    if (loss.size !== 1) throw new Error(`backward() needs a scalar loss, got shape [${loss.shape.join(', ')}]`);
    if (!loss.requiresGrad) throw new Error('backward(): the loss does not depend on any parameter');
    this.gradOf(loss)[0] += seed;
    this.runTape();
  }

  /** Backward from a non-scalar output with a given upstream gradient (same shape as out). */
  backwardFrom(out: Tensor, dOut: Float32Array): void {
    if (!this.recording) throw new Error('backwardFrom() on an inference graph');
    if (dOut.length !== out.size)
      throw new Error(`backwardFrom(): gradient has ${dOut.length} elements, output has ${out.size}`);
    const g = this.gradOf(out);
    for (let i = 0; i < g.length; i++) g[i] += dOut[i];
    this.runTape();
  }

  /**
   * Returns every buffer to the pool. Tensors made by this graph must not be used afterwards
   * (copy out what you need first: `loss.item()`, `Float32Array.from(t.data)`).
   */
  dispose(): void {
    for (const buf of this.owned) pool.give(buf);
    this.owned.length = 0;
    this.tape.length = 0;
    this.disposed = true;
  }

  private checkLive(): void {
    if (this.disposed) throw new Error('Graph used after dispose(): create a new Graph for each step');
  }
}
