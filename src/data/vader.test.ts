import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pairScored } from './scored.js';
import { cleanVaderText, readVader, VADER_DEFAULTS, VADER_PROMPT } from './vader.js';

// The first 1,000 rows of VADER's tweets_GroundTruth.txt, byte for byte (tests/fixtures/data/README.md).
const TWEETS = fileURLToPath(
  new URL('../../tests/fixtures/data/vader-ratings/tweets_GroundTruth.txt', import.meta.url),
);

describe('VADER ratings', () => {
  it('cleans entities, doubled apostrophes and CSV-style quoting', () => {
    assert.equal(cleanVaderText('We were 17 deep &amp; it was &lt;3 '), 'We were 17 deep & it was <3');
    assert.equal(
      cleanVaderText("author of ''A Visit from St. Nicholas,'' said"),
      'author of "A Visit from St. Nicholas," said',
    );
    assert.equal(cleanVaderText('"say ""hi"" now"'), 'say "hi" now');
    // Quotes that are part of the text stay.
    assert.equal(cleanVaderText('"Shoot Me" is a song called "Shoot Me"'), '"Shoot Me" is a song called "Shoot Me"');
    assert.equal(cleanVaderText('caf&#233;'), 'café');
  });

  it('reads CRLF lines, keeps tabs inside texts, and reports bad lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-vader-'));
    const f = join(dir, 'x_GroundTruth.txt');
    writeFileSync(
      f,
      '\uFEFF1\t2.5\tgreat day\r\n2\t-1\tbad\tday\r\n3\tn/a\tno rating\r\n\r\n4\t9\ttoo high\r\n5\t0.5\t   ' +
        '\r\nonly-an-id\r\n6\t1\tlast line, no CRLF',
    );
    const r = readVader(f);
    assert.deepEqual(r.items, [
      { id: '1', text: 'great day', score: 2.5 },
      { id: '2', text: 'bad\tday', score: -1 },
      { id: '6', text: 'last line, no CRLF', score: 1 },
    ]);
    assert.equal(r.lines, 7);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.field]),
      [
        [3, 'mean_rating'],
        [5, 'mean_rating'],
        [6, 'text'],
        [7, undefined],
      ],
    );
  });

  it('reads real tweets and pairs them', () => {
    const r = readVader(TWEETS);
    // NOTE: like the original, the last row has no line end, so `wc -l` says 999.
    assert.equal(r.items.length, 1000);
    assert.equal(r.issues.length, 0);
    assert.deepEqual([r.items[0].id, r.items[999].id], ['1', '1000']);
    assert.ok(r.items.every((x) => x.text.length > 0 && x.score >= -4 && x.score <= 4 && !x.text.includes('&amp;')));
    const { comparisons, stats } = pairScored(r.items, VADER_DEFAULTS);
    assert.equal(stats.buckets, 100);
    assert.equal(stats.candidates, 100 * 45);
    assert.equal(stats.kept, comparisons.length);
    assert.equal(stats.kept + Object.values(stats.dropped).reduce((a, b) => a + b, 0), stats.candidates);
    assert.ok(stats.kept > 1500 && stats.hard > 300, JSON.stringify(stats));
    for (const c of comparisons.slice(0, 200)) {
      const [w, l] = c.meta!.scores as number[];
      assert.ok(w - l >= 0.5);
      assert.equal(c.prompt, VADER_PROMPT);
      const [a, b] = c.completions.map((s) => s.length);
      assert.ok(Math.max(a, b) / Math.min(a, b) <= 2);
    }
  });
});
