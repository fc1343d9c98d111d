// The pool of Float32Array buffers that graphs take their intermediates from and give back on
// dispose. Free buffers are kept by length, least recently given back first. The pool never holds
// more than the high-water mark of floats in use at once, less what is in use now: a step that
// repeats the last one's shapes allocates nothing, and a run whose batches change shape (sequences
// padded to the longest of the batch) evicts the lengths it has not used for longest, instead of
// keeping one step's worth of buffers for every shape it ever met.
// NOTE: that unbounded pool was where `rlhf train reward` on 20,000 comparisons reached 11 GB
// (issue 13): 32 sequence lengths × a few hundred MB of activations each, per thread.

export interface PoolStats {
  /** Floats in free buffers. */
  pooled: number;
  /** Floats taken and not given back. */
  inUse: number;
  /** Most floats ever pooled and in use together: the bound on pooled + inUse. */
  highWater: number;
}

export class BufferPool {
  /** Free buffers by length; Map order is least recently given back first. */
  private readonly free = new Map<number, Float32Array[]>();
  private pooled = 0;
  private inUse = 0;
  private highWater = 0;

  /** A buffer of n floats (stale contents): a free one of that length, else a new one. */
  take(n: number): Float32Array {
    const list = this.free.get(n);
    const reused = list?.pop();
    this.inUse += n;
    if (reused) {
      this.pooled -= n;
      if (list!.length === 0) this.free.delete(n);
      return reused;
    }
    this.evict(this.pooled + this.inUse - this.highWater);
    this.highWater = Math.max(this.highWater, this.pooled + this.inUse);
    return new Float32Array(n);
  }

  /** Returns a buffer that take() gave out. */
  give(buf: Float32Array): void {
    const n = buf.length;
    const list = this.free.get(n) ?? [];
    this.free.delete(n); // re-inserted last: the most recently used length
    list.push(buf);
    this.free.set(n, list);
    this.pooled += n;
    this.inUse -= n;
  }

  /** Drops every free buffer and forgets the high-water mark. */
  clear(): void {
    this.free.clear();
    this.pooled = 0;
    this.highWater = this.inUse;
  }

  stats(): PoolStats {
    return { pooled: this.pooled, inUse: this.inUse, highWater: this.highWater };
  }

  /** Drops at least `floats` floats of free buffers (or all of them), least recently used lengths first. */
  private evict(floats: number): void {
    for (const [n, list] of this.free) {
      if (floats <= 0) return;
      while (list.length > 0 && floats > 0) {
        list.pop();
        this.pooled -= n;
        floats -= n;
      }
      if (list.length === 0) this.free.delete(n);
    }
  }
}
