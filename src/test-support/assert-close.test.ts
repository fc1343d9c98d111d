import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllClose, assertClose } from './assert-close.js';

const message = (f: () => void): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('expected the assertion to fail');
};

describe('assertClose', () => {
  it('passes within the absolute tolerance and fails outside it, naming the value', () => {
    assertClose(1 + 5e-7, 1);
    assertClose(1.05, 1, 0.1);
    const m = message(() => assertClose(1.5, 1, 0.1, 'loss'));
    assert.match(m, /^loss: got 1\.5, want 1, \|got − want\| = 0\.5 > tolerance 0\.1$/);
  });

  it('adds a relative part: |got − want| ≤ atol + rtol·|want|', () => {
    assertClose(1000.5, 1000, { rtol: 1e-3 });
    assert.match(
      message(() => assertClose(1002, 1000, { rtol: 1e-3 })),
      /tolerance 1 \(atol 0 \+ rtol 0\.001·\|want\|\)/,
    );
    assertClose(0.5, 0, { atol: 1, rtol: 1e-3 });
  });

  it('fails on NaN unless both are NaN; equal infinities pass', () => {
    assert.match(
      message(() => assertClose(Number.NaN, 0, 1)),
      /got NaN/,
    );
    assertClose(Number.NaN, Number.NaN);
    assertClose(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
    assert.throws(() => assertClose(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e9));
  });
});

describe('assertAllClose', () => {
  it('names the first entry that is off and counts them', () => {
    assertAllClose(new Float32Array([1, 2, 3]), [1, 2, 3 + 1e-7]);
    const m = message(() => assertAllClose([1, 2.5, 3, 9], [1, 2, 3, 4], 0.1, 'grad'));
    assert.match(m, /^grad\[1\]: got 2\.5, want 2, .* > tolerance 0\.1 \(2 of 4 entries are off\)$/);
  });

  it('fails on a length mismatch', () => {
    assert.match(
      message(() => assertAllClose([1, 2], [1, 2, 3])),
      /array: got 2 entries, want 3/,
    );
  });
});
