// Masked statistics over (B·T) token grids and whitening, as TRL's masked_mean / masked_var /
// masked_whiten: statistics over the valid entries only, the variance unbiased by default.

import { assertLength, countValid } from './masked.js';

/** Mean of values (N) over valid entries. Throws when no entry is valid. */
export function maskedMean(values: ArrayLike<number>, mask: ArrayLike<number>): number {
  const n = countValid('maskedMean', mask, values.length);
  if (n === 0) throw new Error('maskedMean: the mask has no valid entry, so the mean is undefined');
  let s = 0;
  for (let i = 0; i < values.length; i++) if (mask[i]) s += values[i];
  return s / n;
}

/**
 * Variance of values (N) over valid entries: Σ(x − mean)²/(n − 1) when unbiased (the default, as
 * TRL), /n otherwise. Throws for an unbiased variance of fewer than 2 entries, as TRL does.
 */
export function maskedVar(values: ArrayLike<number>, mask: ArrayLike<number>, unbiased = true): number {
  const n = countValid('maskedVar', mask, values.length);
  if (n === 0 || (unbiased && n < 2)) {
    throw new Error(
      `maskedVar: ${n} valid entr${n === 1 ? 'y' : 'ies'} cannot give ${unbiased ? 'an unbiased' : 'a'} ` +
        `variance; use more tokens${unbiased ? ' or unbiased: false' : ''}`,
    );
  }
  const mean = maskedMean(values, mask);
  let s = 0;
  for (let i = 0; i < values.length; i++) if (mask[i]) s += (values[i] - mean) ** 2;
  return s / (unbiased ? n - 1 : n);
}

export interface WhitenOptions {
  /** false adds the mean back after scaling (TRL's shift_mean=False: unit variance, mean kept). */
  shiftMean?: boolean;
  /** Unbiased variance (n − 1), default true as in TRL. */
  unbiased?: boolean;
  /** Added to the variance before the square root, default 1e-8 (TRL). */
  eps?: number;
}

/**
 * (x − mean)/√(var + eps) on valid entries of values (N), and 0 on invalid ones.
 * NOTE: TRL leaves the whitened garbage in padded positions; zeros here keep masked sums exact.
 */
export function maskedWhiten(values: ArrayLike<number>, mask: ArrayLike<number>, o: WhitenOptions = {}): Float32Array {
  const { shiftMean = true, unbiased = true, eps = 1e-8 } = o;
  assertLength('maskedWhiten', 'mask', mask, values.length);
  const mean = maskedMean(values, mask);
  const scale = 1 / Math.sqrt(maskedVar(values, mask, unbiased) + eps);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (mask[i]) out[i] = (values[i] - mean) * scale + (shiftMean ? 0 : mean);
  }
  return out;
}
