// The keys and values of past positions, so that decoding one token costs one position's work.
// Each row is one sequence with its own length: prompts of different lengths need no padding.

import type { KVLayer } from '../engine/ops/attention.js';
import type { GPTConfig } from './config.js';

/** Per-layer keys and values (rows, Tmax, C) each; row r holds positions 0 … len[r]-1. */
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

  /** A cache of `rows` sequences for a model, as long as its context. */
  static forModel(config: GPTConfig, rows: number): KVCache {
    return new KVCache(rows, config.nPositions, config.nEmbd, config.nLayer);
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
