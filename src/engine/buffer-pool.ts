// The pool of Float32Array buffers that graphs take their intermediates from and give back on
// dispose. Free buffers are kept by length, least recently given back first. A request is served by
// a free buffer of its length, else by the shortest one up to MAX_SLACK times longer (as a view of
// its first n floats), else by a new one. The pool never holds more than the high-water mark of
// floats in use at once, less what is in use now: a step that repeats the last one's shapes, or
// has shorter sequences, allocates nothing, and a longer one evicts the lengths unused for longest
// instead of adding a step's worth of buffers for every shape the run meets.
// NOTE: that unbounded pool was where `rlhf train reward` on 20,000 comparisons reached 8 to 11 GB
// (issue 13): batches padded to their longest sequence, 30+ shapes × a few hundred MB per thread.

/** A request may take a free buffer up to this many times its length. */
const MAX_SLACK = 2;

export interface PoolStats {
  /** Floats in free buffers. */
  pooled: number;
  /** Floats of the buffers taken and not given back (whole buffers, when a view was taken). */
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

  /** A buffer of n floats (stale contents): a free one of that length or a little longer, else a new one. */
  take(n: number): Float32Array {
    const cap = this.free.has(n) ? n : this.shortestFree(n);
    if (cap > 0) {
      const list = this.free.get(cap)!;
      const buf = list.pop()!;
      if (list.length === 0) this.free.delete(cap);
      this.pooled -= cap;
      this.inUse += cap;
      return cap === n ? buf : buf.subarray(0, n);
    }
    this.inUse += n;
    this.evict(this.pooled + this.inUse - this.highWater);
    this.highWater = Math.max(this.highWater, this.pooled + this.inUse);
    return new Float32Array(n);
  }

  /** Returns a buffer that take() gave out (a view of a longer buffer gives back the whole of it). */
  give(buf: Float32Array): void {
    // NOTE: every pooled buffer owns its ArrayBuffer from offset 0, so that is its full length.
    const n = buf.buffer.byteLength / 4;
    const whole = buf.length === n ? buf : new Float32Array(buf.buffer);
    const list = this.free.get(n) ?? [];
    this.free.delete(n); // re-inserted last: the most recently used length
    list.push(whole);
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

  /** The shortest free length in [n, MAX_SLACK·n], or 0. */
  private shortestFree(n: number): number {
    let best = 0;
    for (const len of this.free.keys()) if (len >= n && len <= MAX_SLACK * n && (best === 0 || len < best)) best = len;
    return best;
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
