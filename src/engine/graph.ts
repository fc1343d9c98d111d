// The autograd tape. Each op computes its output now and, when gradients are needed, pushes a
// backward closure; `backward` runs them in reverse. Intermediate buffers come from a pool and go
// back to it on `dispose`, so a training step allocates nothing once the pool is warm.

import { BufferPool, type PoolStats } from './buffer-pool.js';
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

export class Graph {
  private tape: Array<{ out: Tensor; fn: () => void }> = [];
  private owned: Float32Array[] = [];
  private disposed = false;

  /**
   * @param recording false for inference (no tape, no gradients), e.g. sampling and scoring.
   */
  constructor(readonly recording = true) {}

  static inference(): Graph {
    return new Graph(false);
  }

  /** An uninitialized buffer of n floats owned by this graph. NOTE: contents are stale; write every element. */
  alloc(n: number): Float32Array {
    this.checkLive();
    const buf = pool.take(n);
    this.owned.push(buf);
    return buf;
  }

  /** A zero-filled buffer of n floats owned by this graph. */
  zeros(n: number): Float32Array {
    return this.alloc(n).fill(0);
  }

  /** A new tensor on a pooled buffer; requiresGrad when recording and any input needs gradients. */
  output(shape: Shape, ...inputs: Tensor[]): Tensor {
    const requiresGrad = this.recording && inputs.some((t) => t.requiresGrad);
    return new Tensor(this.alloc(shapeSize(shape)), shape, requiresGrad);
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

  /** Registers how to push the output's gradient to the inputs. Skipped when nothing needs gradients. */
  onBackward(out: Tensor, fn: () => void): void {
    if (out.requiresGrad) this.tape.push({ out, fn });
  }

  /** Runs the tape in reverse; an op whose output never received a gradient (not on the loss's path) is skipped. */
  private runTape(): void {
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
