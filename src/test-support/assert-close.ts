// Close-number assertions for tests: one rule and one failure message for every test file.
// A number passes when |got − want| ≤ atol + rtol·|want| (numpy's allclose rule). A bare number as
// the tolerance is an absolute tolerance. NaN never passes (unless `want` is NaN too); equal
// infinities pass.

import assert from 'node:assert/strict';

export interface Tolerance {
  /** Absolute part, default 0 when rtol is given, else 1e-6. */
  atol?: number;
  /** Relative part, a fraction of |want|; default 0. */
  rtol?: number;
}

const DEFAULT_ATOL = 1e-6;

function bounds(tol: number | Tolerance | undefined): { atol: number; rtol: number } {
  if (tol === undefined) return { atol: DEFAULT_ATOL, rtol: 0 };
  if (typeof tol === 'number') return { atol: tol, rtol: 0 };
  const rtol = tol.rtol ?? 0;
  return { atol: tol.atol ?? (rtol > 0 ? 0 : DEFAULT_ATOL), rtol };
}

function describeTol(atol: number, rtol: number, want: number): string {
  if (rtol === 0) return `tolerance ${atol}`;
  return `tolerance ${atol + rtol * Math.abs(want)} (atol ${atol} + rtol ${rtol}·|want|)`;
}

/** Why got is not close to want, or null when it is. */
function mismatch(got: number, want: number, atol: number, rtol: number): string | null {
  if (got === want || (Number.isNaN(got) && Number.isNaN(want))) return null;
  const diff = Math.abs(got - want);
  if (diff <= atol + rtol * Math.abs(want)) return null; // NOTE: false for NaN, so NaN fails here
  return `got ${got}, want ${want}, |got − want| = ${diff} > ${describeTol(atol, rtol, want)}`;
}

/** Asserts one number; `what` names it in the failure message (e.g. 'loss'). */
export function assertClose(got: number, want: number, tol?: number | Tolerance, what = 'value'): void {
  const { atol, rtol } = bounds(tol);
  const why = mismatch(got, want, atol, rtol);
  if (why) assert.fail(`${what}: ${why}`);
}

/**
 * Asserts two arrays of the same length entry by entry. The message names the first entry that is
 * off (its index, got, want and the tolerance) and how many are off in all.
 */
export function assertAllClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol?: number | Tolerance,
  what = 'array',
): void {
  if (got.length !== want.length) assert.fail(`${what}: got ${got.length} entries, want ${want.length}`);
  const { atol, rtol } = bounds(tol);
  let first: string | null = null,
    off = 0;
  for (let i = 0; i < want.length; i++) {
    const why = mismatch(got[i], want[i], atol, rtol);
    if (!why) continue;
    off++;
    first ??= `${what}[${i}]: ${why}`;
  }
  if (first) assert.fail(off > 1 ? `${first} (${off} of ${want.length} entries are off)` : first);
}
