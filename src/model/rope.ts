// Rotary position embeddings of a config: Hugging Face's frequencies (modeling_rope_utils.py: the
// "default", "linear" and "llama3" rope types) and the cos/sin tables ropeQKV reads, grown on demand.
//
// NOTE: transformers computes frequencies and angles in float32 (even under bf16 autocast), and so do the
// engine's ropeInvFreq/ropeTables; the scaling below rounds every step to float32 too, so that at long
// positions, where an angle of thousands of radians keeps few float32 digits, the tables equal theirs.

import { ropeInvFreq, ropeTables } from '../engine/ops/index.js';
import { type ModelConfig, headDimOf } from './config.js';

const f32 = Math.fround;

/** Inverse frequencies (headDim/2) of a config: 1 / θ^(2i/headDim), then its rope_scaling. */
export function ropeInverseFrequencies(c: ModelConfig): Float32Array {
  const inv = ropeInvFreq(headDimOf(c), c.ropeTheta ?? 10000);
  const rs = c.ropeScaling;
  if (!rs) return inv;
  if (rs.type === 'linear') return inv.map((f) => f32(f / rs.factor));
  // llama3: long wavelengths (low frequencies) slowed by `factor`, short ones kept, a smooth ramp between.
  const { factor, lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositionEmbeddings: ctx } = rs;
  const lowFreqWavelen = ctx / lo,
    highFreqWavelen = ctx / hi;
  return inv.map((f) => {
    const wavelen = f32((2 * Math.PI) / f);
    if (wavelen < highFreqWavelen) return f;
    if (wavelen > lowFreqWavelen) return f32(f / factor);
    const smooth = f32((f32(ctx / wavelen) - lo) / (hi - lo));
    return f32(f32(f32(f32(1 - smooth) * f) / factor) + f32(smooth * f));
  });
}

/** cos and sin of position·frequency, (positions, headDim/2) each, row p for position p. */
export interface RopeTables {
  cos: Float32Array;
  sin: Float32Array;
  /** Rows in the tables. */
  positions: number;
}

/**
 * A model's tables, grown on demand: a context of 131,072 positions (Llama 3.2) costs 32 MB of tables that
 * short runs never read, so rows are computed up to the longest position asked for, doubling.
 */
export class Rope {
  readonly invFreq: Float32Array;
  private tables: RopeTables;

  constructor(readonly config: ModelConfig) {
    this.invFreq = ropeInverseFrequencies(config);
    this.tables = Rope.build(this.invFreq, Math.min(config.nPositions, 64));
  }

  private static build(invFreq: Float32Array, positions: number): RopeTables {
    return { ...ropeTables(invFreq, positions), positions };
  }

  /** Tables covering positions 0 … n-1 (at least; at most the context, unless n exceeds it). */
  upTo(n: number): RopeTables {
    if (n > this.tables.positions) {
      let rows = this.tables.positions;
      while (rows < n) rows *= 2;
      this.tables = Rope.build(this.invFreq, Math.max(n, Math.min(rows, this.config.nPositions)));
    }
    return this.tables;
  }
}
