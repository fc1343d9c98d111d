// The keys and values of past positions, so that decoding one token costs one position's work.
// Each row is one sequence with its own length: prompts of different lengths need no padding.

import type { KVLayer } from '../engine/ops/attention.js';
import { type ModelConfig, headDimOf, kvHeadsOf } from './config.js';

/**
 * Per-layer keys and values (rows, Tmax, C) each; row r holds positions 0 … len[r]-1. C is one token's
 * keys: nEmbd for GPT-2, nKvHead·headDim with grouped-query attention (the Llama family).
 */
export class KVCache {
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  /** Positions filled in each row: the position of the row's next token. */
  readonly len: Int32Array;

  constructor(
    readonly rows: number,
    readonly Tmax: number,
    readonly C: number,
    nLayer: number,
  ) {
    this.k = Array.from({ length: nLayer }, () => new Float32Array(rows * Tmax * C));
    this.v = Array.from({ length: nLayer }, () => new Float32Array(rows * Tmax * C));
    this.len = new Int32Array(rows);
  }

  /**
   * A cache of `rows` sequences for a model, as wide as its key/value heads, as long as its context or
   * `maxLength` positions when shorter.
   * NOTE: real models have long contexts (8,192–131,072 positions); a cache of the whole context for a
   * 30-layer model is gigabytes, so samplers size it by the longest prompt plus the new tokens.
   */
  static forModel(config: ModelConfig, rows: number, maxLength = config.nPositions): KVCache {
    const Tmax = Math.max(1, Math.min(config.nPositions, maxLength));
    return new KVCache(rows, Tmax, kvHeadsOf(config) * headDimOf(config), config.nLayer);
  }

  /** Layer l's keys and values, as attention reads and appends them. */
  layer(l: number): KVLayer {
    return { k: this.k[l], v: this.v[l], Tmax: this.Tmax };
  }
}

/** The cache rows a forward pass continues: sequence b of the batch is cache row rows[b]. */
export interface CacheRows {
  cache: KVCache;
  /** Cache row of each sequence of the batch (default 0 … B-1). */
  rows?: ArrayLike<number>;
}

/** The cache rows of a batch of B sequences and the position each continues from. */
export function cachePositions(
  kv: CacheRows,
  B: number,
): { cache: KVCache; rows: ArrayLike<number>; starts: Int32Array } {
  const rows = kv.rows ?? Int32Array.from({ length: B }, (_, b) => b);
  if (rows.length !== B) throw new Error(`hidden: ${rows.length} cache rows for a batch of ${B} sequences`);
  for (let b = 0; b < B; b++) {
    if (!(Number.isInteger(rows[b]) && rows[b] >= 0 && rows[b] < kv.cache.rows))
      throw new Error(`hidden: cache row ${rows[b]} of sequence ${b} is outside the cache's ${kv.cache.rows} rows`);
  }
  return { cache: kv.cache, rows, starts: Int32Array.from({ length: B }, (_, b) => kv.cache.len[rows[b]]) };
}
