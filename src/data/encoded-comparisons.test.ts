import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Comparison } from './comparison.js';
import { EncodedComparisons } from './encoded-comparisons.js';

/** A stand-in tokenizer: one id per character (its code), then 0 as end-of-text. */
const encode = (p: string, c: string) => [...(p + c)].map((ch) => ch.charCodeAt(0)).concat(0);

const comps: Comparison[] = [
  { prompt: 'a', completions: ['x', 'yy'], ranking: [1, 0], margin: 2 },
  { prompt: 'b', completions: ['p', 'q', 'r'], ranking: [2, 0, 1], confidence: 0.5, hard: true },
  { prompt: '', completions: ['m', 'n'], ranking: [0, 1] },
];

describe('EncodedComparisons', () => {
  it('packs every completion once and every ranked pair, with margins and the hard split', () => {
    const e = new EncodedComparisons(comps, 256, encode);
    assert.equal(e.size, 3);
    assert.equal(e.seqs.size, 7);
    assert.equal(e.pairs, 1 + 3 + 1);
    assert.deepEqual(Array.from(e.seqs.get(1)), encode('a', 'yy'));
    assert.deepEqual(Array.from(e.firstSeq), [0, 2, 5, 7]);
    assert.deepEqual(Array.from(e.better), [1, 4, 4, 2, 5]);
    assert.deepEqual(Array.from(e.worse), [0, 2, 3, 3, 6]);
    assert.deepEqual(Array.from(e.margins), [2, 0.5, 0]);
    assert.deepEqual(Array.from(e.hard), [0, 1, 0]);
  });

  it('selects comparisons renumbered from 0, each comparison weighing 1 over its pairs', () => {
    const e = new EncodedComparisons(comps, 256, encode);
    const s = e.select([2, 1]);
    assert.deepEqual(
      s.seqs.map((x) => Array.from(x)),
      [encode('', 'm'), encode('', 'n'), encode('b', 'p'), encode('b', 'q'), encode('b', 'r')],
    );
    assert.deepEqual(Array.from(s.better), [0, 4, 4, 2]);
    assert.deepEqual(Array.from(s.worse), [1, 2, 3, 3]);
    assert.deepEqual(Array.from(s.margins), [0, 0.5, 0.5, 0.5]);
    assert.deepEqual(
      Array.from(s.pairWeights, (w) => +w.toFixed(4)),
      [1, 0.3333, 0.3333, 0.3333],
    );
  });
});
