import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEvalKey, splitByKey } from './split.js';

describe('hash split', () => {
  it('puts about the asked fraction of similar keys in eval, the same key always on the same side', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `Item ${i}`);
    const { eval: ev } = splitByKey(keys, (k) => k, 0.1);
    assert.ok(ev.length > 150 && ev.length < 250, `${ev.length} of 2000 in eval`);
    for (const k of keys.slice(0, 50)) assert.equal(isEvalKey(k, 0.1), isEvalKey(k, 0.1));
    const short = Array.from({ length: 40 }, (_, i) => `p${i}`).filter((k) => isEvalKey(k, 0.25)).length;
    assert.ok(short > 3 && short < 20, `${short} of 40 short keys in eval`);
  });
});
