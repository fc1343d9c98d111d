import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparisonStats, parseComparison, splitKey, toPairs } from './comparison.js';
import { throwsField } from './formats/assert-field.js';

const good = { prompt: 'Q:', completions: [' a', ' b', ' c'], ranking: [2, 0, 1] };

describe('parseComparison', () => {
  it('reads a full record and keeps only the fields given', () => {
    const c = parseComparison({
      ...good,
      confidence: 0.75,
      margin: 1.5,
      feedback: 'c is clearest',
      labeler: 'ann',
      time: '2024-05-01T12:30:00Z',
      source: 'app',
      hard: false,
      meta: { batch: 3 },
    });
    assert.deepEqual(c, {
      ...good,
      confidence: 0.75,
      margin: 1.5,
      feedback: 'c is clearest',
      labeler: 'ann',
      time: '2024-05-01T12:30:00Z',
      source: 'app',
      hard: false,
      meta: { batch: 3 },
    });
    assert.deepEqual(parseComparison({ ...good, confidence: null }), good, 'null means absent');
    assert.deepEqual(
      parseComparison({ prompt: '', completions: ['x', 'y'], ranking: [1, 0] }).prompt,
      '',
      'empty prompts are allowed',
    );
    assert.deepEqual(parseComparison({ ...good, ranking: [1, 2] }).ranking, [1, 2], 'a ranking may cover a subset');
  });

  it('names the field of every kind of bad input', () => {
    throwsField(() => parseComparison({ completions: ['a', 'b'], ranking: [0, 1] }), 'prompt', /missing/);
    throwsField(() => parseComparison({ prompt: 3, completions: ['a', 'b'], ranking: [0, 1] }), 'prompt', /string/);
    throwsField(() => parseComparison({ prompt: '', ranking: [0, 1] }), 'completions', /missing/);
    throwsField(() => parseComparison({ prompt: '', completions: 'ab', ranking: [0, 1] }), 'completions', /array/);
    throwsField(() => parseComparison({ prompt: '', completions: ['a'], ranking: [0] }), 'completions', /at least 2/);
    throwsField(
      () => parseComparison({ prompt: '', completions: ['a', ''], ranking: [0, 1] }),
      'completions[1]',
      /empty/,
    );
    throwsField(
      () => parseComparison({ prompt: '', completions: ['a', 7], ranking: [0, 1] }),
      'completions[1]',
      /string/,
    );
    throwsField(() => parseComparison({ prompt: '', completions: ['a', 'b'] }), 'ranking', /missing/);
    throwsField(() => parseComparison({ prompt: '', completions: ['a', 'b'], ranking: [0] }), 'ranking', /at least 2/);
    throwsField(
      () => parseComparison({ prompt: '', completions: ['a', 'b'], ranking: [0, 2] }),
      'ranking[1]',
      /\[0, 1\]/,
    );
    throwsField(
      () => parseComparison({ prompt: '', completions: ['a', 'b'], ranking: [0, 0.5] }),
      'ranking[1]',
      /integer/,
    );
    throwsField(
      () => parseComparison({ prompt: '', completions: ['a', 'b', 'c'], ranking: [1, 1] }),
      'ranking[1]',
      /twice/,
    );
    throwsField(
      () => parseComparison({ prompt: '', completions: ['a', 'a'], ranking: [0, 1] }),
      'completions',
      /identical/,
    );
    throwsField(() => parseComparison({ ...good, confidence: 1.5 }), 'confidence', /\[0, 1\]/);
    throwsField(() => parseComparison({ ...good, confidence: '0.5' }), 'confidence', /number/);
    throwsField(() => parseComparison({ ...good, margin: -1 }), 'margin');
    throwsField(() => parseComparison({ ...good, time: 'yesterday' }), 'time', /ISO 8601/);
    throwsField(() => parseComparison({ ...good, hard: 'yes' }), 'hard');
    throwsField(() => parseComparison({ ...good, meta: [1] }), 'meta');
    throwsField(() => parseComparison({ ...good, confidance: 0.5 }), 'confidance', /unknown field.*meta/);
  });
});

describe('toPairs', () => {
  it('gives all K(K−1)/2 (better, worse) pairs of a ranking, best first', () => {
    const pairs = toPairs({ ...good, margin: 1, hard: true });
    assert.deepEqual(
      pairs.map((p) => [p.chosen, p.rejected]),
      [
        [' c', ' a'],
        [' c', ' b'],
        [' a', ' b'],
      ],
    );
    assert.ok(pairs.every((p) => p.prompt === 'Q:' && p.margin === 1 && p.hard === true && !('confidence' in p)));
    const four = toPairs({ prompt: '', completions: ['a', 'b', 'c', 'd'], ranking: [3, 2, 1, 0] });
    assert.equal(four.length, 6);
  });
});

describe('comparisonStats', () => {
  it('counts records, prompts, pairs, hard pairs and the length bias', () => {
    const s = comparisonStats([
      { prompt: 'p', completions: ['long one', 'x'], ranking: [0, 1], hard: true, confidence: 1 },
      { prompt: 'p', completions: ['a', 'bbb', 'cc'], ranking: [0, 1, 2], feedback: 'ok' },
    ]);
    assert.equal(s.records, 2);
    assert.equal(s.prompts, 1);
    assert.equal(s.meanCompletions, 2.5);
    assert.equal(s.pairs, 4);
    assert.equal(s.hardPairs, 1);
    assert.equal(s.withConfidence, 1);
    assert.equal(s.withFeedback, 1);
    // pairs: (long one > x) longer; (a, bbb) shorter; (a, cc) shorter; (bbb, cc) longer.
    assert.equal(s.chosenLonger, 0.5);
  });
});

describe('splitKey', () => {
  it('is the prompt, plus the group of scored pairs', () => {
    assert.equal(splitKey({ prompt: 'p', completions: ['a', 'b'], ranking: [0, 1] }), 'p');
    const a = splitKey({ prompt: 'p', completions: ['a', 'b'], ranking: [0, 1], meta: { group: 'bucket 1' } });
    const b = splitKey({ prompt: 'p', completions: ['a', 'b'], ranking: [0, 1], meta: { group: 'bucket 2' } });
    assert.notEqual(a, b);
  });
});
