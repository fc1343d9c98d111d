// Chance-corrected agreement of several labelers on the same items, for the single-output kinds:
// Fleiss' κ for thumbs up/down, Krippendorff's α (interval metric) and the mean absolute difference for
// 1–7 ratings. Each takes units (one per task) of the values its labelers gave; a unit with fewer than
// two values says nothing about agreement and is left out. Pure functions.

/**
 * Fleiss' κ of yes/no labels (Fleiss, 1971): (P̄ − Pₑ) / (1 − Pₑ), P̄ the mean over units of the share
 * of agreeing ordered pairs of labelers, Pₑ = p² + (1 − p)² with p the share of yes over all values.
 * Null without a unit of two values, or when every value is the same (chance then explains all).
 */
export function fleissKappa(units: boolean[][]): number | null {
  const us = units.filter((u) => u.length >= 2);
  if (!us.length) return null;
  let agree = 0,
    yes = 0,
    values = 0;
  for (const u of us) {
    const m = u.length,
      k = u.filter(Boolean).length;
    agree += (k * (k - 1) + (m - k) * (m - k - 1)) / (m * (m - 1));
    yes += k;
    values += m;
  }
  const p = yes / values;
  const pe = p * p + (1 - p) * (1 - p);
  return pe === 1 ? null : (agree / us.length - pe) / (1 - pe);
}

/**
 * Krippendorff's α with the interval metric δ² = (a − b)²: 1 − D_o / D_e, D_o the mean δ² of ordered
 * pairs within units (each unit's pairs weighted 1 / (m − 1)), D_e the mean δ² of all ordered pairs of
 * pairable values. Null without a unit of two values, or when every value is the same.
 */
export function krippendorffAlpha(units: number[][]): number | null {
  const us = units.filter((u) => u.length >= 2);
  const all = us.flat();
  const n = all.length;
  if (!n) return null;
  let within = 0;
  for (const u of us) within += sumSquaredDiffs(u) / (u.length - 1);
  const expected = sumSquaredDiffs(all) / (n * (n - 1));
  return expected === 0 ? null : 1 - within / n / expected;
}

/** Σ over ordered pairs i ≠ j of (xᵢ − xⱼ)², in O(n): 2·(n·Σx² − (Σx)²). */
function sumSquaredDiffs(xs: number[]): number {
  let s = 0,
    s2 = 0;
  for (const x of xs) {
    s += x;
    s2 += x * x;
  }
  return 2 * (xs.length * s2 - s * s);
}

/** The mean |a − b| over every pair of values within a unit (null without one). */
export function meanAbsDiff(units: number[][]): number | null {
  let sum = 0,
    pairs = 0;
  for (const u of units) {
    for (let i = 0; i < u.length; i++)
      for (let j = i + 1; j < u.length; j++) {
        sum += Math.abs(u[i] - u[j]);
        pairs++;
      }
  }
  return pairs ? sum / pairs : null;
}
