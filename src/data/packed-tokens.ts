// Tokenized data kept compactly: every sequence's ids in one typed array, plus where each starts.
// NOTE: an array of JS number arrays costs 8+ bytes a token and an object per sequence; this costs 2
// (vocabularies up to 65,536 tokens) or 4, so a data set's tokens take a few MB, not hundreds.

/** Token sequences packed end to end: sequence i is ids[starts[i]] … ids[starts[i+1] − 1]. */
export class PackedTokens {
  private ids: Uint16Array | Int32Array;
  private starts: Int32Array;
  private count = 0;

  /** `vocabSize` picks 16-bit storage when every id fits; the capacities are first guesses (they grow). */
  constructor(
    readonly vocabSize: number,
    capacity = 1024,
    sequences = 64,
  ) {
    if (!Number.isInteger(vocabSize) || vocabSize < 1)
      throw new Error(`PackedTokens: vocabSize must be a positive integer, got ${vocabSize}`);
    this.ids = vocabSize <= 65536 ? new Uint16Array(capacity) : new Int32Array(capacity);
    this.starts = new Int32Array(Math.max(2, sequences + 1));
  }

  /** Number of sequences. */
  get size(): number {
    return this.count;
  }

  /** Total tokens of all sequences. */
  get tokens(): number {
    return this.starts[this.count];
  }

  /** Appends a sequence; returns its index. */
  push(seq: ArrayLike<number>): number {
    const at = this.starts[this.count];
    if (at + seq.length > this.ids.length) this.ids = grow(this.ids, at + seq.length);
    if (this.count + 2 > this.starts.length) this.starts = grow(this.starts, this.count + 2);
    for (let i = 0; i < seq.length; i++) {
      const id = seq[i];
      if (!(id >= 0 && id < this.vocabSize && Number.isInteger(id)))
        throw new Error(
          `PackedTokens: token id ${id} at position ${i} is outside the vocabulary [0, ${this.vocabSize})`,
        );
      this.ids[at + i] = id;
    }
    this.starts[++this.count] = at + seq.length;
    return this.count - 1;
  }

  /** Sequence i, as a view into the packed ids (copy it to keep it beyond changes to this store). */
  get(i: number): Uint16Array | Int32Array {
    this.check(i);
    return this.ids.subarray(this.starts[i], this.starts[i + 1]);
  }

  length(i: number): number {
    this.check(i);
    return this.starts[i + 1] - this.starts[i];
  }

  /** Drops the unused capacity (call when done pushing). */
  trim(): this {
    if (this.ids.length > this.tokens) this.ids = this.ids.slice(0, this.tokens);
    if (this.starts.length > this.count + 1) this.starts = this.starts.slice(0, this.count + 1);
    return this;
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    return this.ids.byteLength + this.starts.byteLength;
  }

  private check(i: number): void {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count))
      throw new Error(`PackedTokens: no sequence ${i} (there are ${this.count})`);
  }
}

function grow<A extends Uint16Array | Int32Array>(a: A, need: number): A {
  const out = new (a.constructor as { new (n: number): A })(Math.max(need, 2 * a.length));
  out.set(a);
  return out;
}
