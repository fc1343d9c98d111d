import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsField } from './formats/assert-field.js';
import { pairScored, parseScoredItem, ScoredItem } from './scored.js';

const item = (text: string, score: number, extra: Partial<ScoredItem> = {}): ScoredItem => ({
  text,
  score,
  group: 'g',
  ...extra,
});

describe('parseScoredItem', () => {
  it('reads items, turning ISO times into seconds and numeric keys into strings', () => {
    assert.deepEqual(
      parseScoredItem({ group: 7, prompt: 'P', text: 'hi', score: 3, time: '1970-01-01T00:01:00Z', id: 9 }),
      {
        text: 'hi',
        score: 3,
        group: '7',
        prompt: 'P',
        time: 60,
        id: '9',
      },
    );
    assert.deepEqual(parseScoredItem({ text: 'hi', score: -1.5, time: 1700000000 }), {
      text: 'hi',
      score: -1.5,
      time: 1700000000,
    });
  });

  it('rejects bad items, naming the field', () => {
    throwsField(() => parseScoredItem({ score: 1 }), 'text', /missing/);
    throwsField(() => parseScoredItem({ text: '', score: 1 }), 'text', /empty/);
    throwsField(() => parseScoredItem({ text: 'a', score: '5' }), 'score', /number/);
    throwsField(() => parseScoredItem({ text: 'a', score: 1, time: 'soon' }), 'time', /Unix seconds/);
    throwsField(() => parseScoredItem({ text: 'a', score: 1, group: {} }), 'group');
  });
});

describe('pairScored', () => {
  it('makes the higher score the winner, with a confidence from the gap', () => {
    const { comparisons, stats } = pairScored([item('low text', 1), item('high text', 3)], {
      confidenceScale: 2,
      minScoreGap: 0,
    });
    assert.equal(comparisons.length, 1);
    const c = comparisons[0];
    assert.deepEqual(c.completions, ['high text', 'low text']);
    assert.deepEqual(c.ranking, [0, 1]);
    assert.equal(c.confidence, Math.round(Math.tanh(1) * 1e4) / 1e4);
    assert.equal(c.prompt, '');
    assert.deepEqual(c.meta, { scores: [3, 1], group: 'g' });
    assert.equal(stats.kept, 1);
  });

  it('drops pairs by each rule, counting each', () => {
    const items = [
      item('same words', 1),
      item('same words', 5), // identical text
      item('tie aaaa', 2),
      item('tie bbbb', 2), // tie
    ];
    let r = pairScored(items, { maxLengthRatio: Infinity, minScoreGap: 0 });
    assert.equal(r.stats.dropped.sameText, 1);
    assert.ok(r.stats.dropped.scoreGap >= 1);

    r = pairScored([item('aaaa', 1), item('bbbb', 1.2)], { minScoreGap: 0.5 });
    assert.deepEqual([r.stats.kept, r.stats.dropped.scoreGap], [0, 1]);

    r = pairScored([item('short', 1), item('a much longer text here', 3)], { maxLengthRatio: 2 });
    assert.deepEqual([r.stats.kept, r.stats.dropped.lengthRatio], [0, 1]);

    r = pairScored([item('aaaa', 1, { time: 0 }), item('bbbb', 3, { time: 100000 })], { maxTimeGap: 86400 });
    assert.deepEqual([r.stats.kept, r.stats.dropped.timeGap], [0, 1]);
    // An unknown time does not drop the pair.
    r = pairScored([item('aaaa', 1, { time: 0 }), item('bbbb', 3)], { maxTimeGap: 10 });
    assert.equal(r.stats.kept, 1);
  });

  it("compares items only within their group (group and prompt), using the group's prompt", () => {
    const items = [
      item('one a', 1, { group: 'x', prompt: 'P1' }),
      item('one b', 2, { group: 'x', prompt: 'P1' }),
      item('two a', 1, { group: 'y', prompt: 'P2' }),
      item('two b', 3, { group: 'y', prompt: 'P2' }),
      item('odd a', 5, { group: 'x', prompt: 'P3' }),
    ];
    const { comparisons, stats } = pairScored(items);
    assert.equal(stats.groups, 3);
    assert.equal(stats.candidates, 2);
    assert.deepEqual(
      comparisons.map((c) => [c.prompt, c.completions[0]]),
      [
        ['P1', 'one b'],
        ['P2', 'two b'],
      ],
    );
  });

  it('marks pairs close in length (and time) as hard', () => {
    const { comparisons, stats } = pairScored(
      [
        item('abcdefghij', 1, { group: 'a' }),
        item('abcdefghiX', 2, { group: 'a' }), // ratio 1: hard
        item('abcdefghij', 1, { group: 'b' }),
        item('abcdefghijklmn', 2, { group: 'b' }), // ratio 1.4: not hard
        item('abcdefghij', 1, { group: 'c', time: 0 }),
        item('abcdefghiX', 2, { group: 'c', time: 7200 }), // too far apart in time
      ],
      { hardLengthRatio: 1.15, hardTimeGap: 3600 },
    );
    assert.deepEqual(
      comparisons.map((c) => c.hard === true),
      [true, false, false],
    );
    assert.equal(stats.hard, 1);
  });

  it('buckets ungrouped items, deterministically for a seed', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({
      text: `text number ${String(i).padStart(3, '0')}`,
      score: (i * 37) % 17,
    }));
    const a = pairScored(items, { bucketSize: 10, seed: 1 });
    assert.equal(a.stats.buckets, 10);
    assert.equal(a.stats.candidates, 10 * 45, 'pairs only within buckets of 10, not 100·99/2');
    assert.deepEqual(pairScored(items, { bucketSize: 10, seed: 1 }), a, 'same seed, same pairs');
    assert.notDeepEqual(pairScored(items, { bucketSize: 10, seed: 2 }).comparisons, a.comparisons);
    const last = pairScored(items.slice(0, 25), { bucketSize: 10 });
    assert.equal(last.stats.buckets, 3);
    assert.equal(last.stats.candidates, 45 + 45 + 10);
  });

  it('caps pairs per group with a seeded sample', () => {
    const items = Array.from({ length: 8 }, (_, i) => item(`text ${i}`, i));
    const r = pairScored(items, { maxPairsPerGroup: 5, seed: 3 });
    assert.equal(r.stats.kept, 5);
    assert.equal(r.stats.dropped.groupCap, 28 - 5);
    assert.deepEqual(pairScored(items, { maxPairsPerGroup: 5, seed: 3 }).comparisons, r.comparisons);
  });

  it('rejects impossible options, naming them', () => {
    assert.throws(() => pairScored([], { bucketSize: 1 }), /bucketSize/);
    assert.throws(() => pairScored([], { maxLengthRatio: 0.5 }), /maxLengthRatio/);
    assert.throws(() => pairScored([], { minScoreGap: -1 }), /minScoreGap/);
  });
});
