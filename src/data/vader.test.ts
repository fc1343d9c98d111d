import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pairScored } from './scored.js';
import { cleanVaderText, readVader, VADER_DEFAULTS, VADER_PROMPT } from './vader.js';

const TWEETS = '../shared/data/vader-ratings/tweets_GroundTruth.txt';

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
      '\uFEFF1\t2.5\tgreat day\r\n2\t-1\tbad\tday\r\n3\tn/a\tno rating\r\n\r\n4\t9\ttoo high\r\n5\t0.5\t   \r\nonly-an-id\r\n6\t1\tlast line, no CRLF',
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

  it('reads the real tweets file and pairs it', (t) => {
    if (!existsSync(TWEETS)) {
      t.skip(`${TWEETS} not found (run from the repository root with ../shared/data present)`);
      return;
    }
    const r = readVader(TWEETS);
    // NOTE: `wc -l` says 4,199 because the last line has no line end; there are 4,200 rows (ids 1..4200).
    assert.equal(r.items.length, 4200);
    assert.equal(r.issues.length, 0);
    assert.ok(r.items.every((x) => x.text.length > 0 && x.score >= -4 && x.score <= 4 && !x.text.includes('&amp;')));
    const { comparisons, stats } = pairScored(r.items, VADER_DEFAULTS);
    assert.equal(stats.buckets, 420);
    assert.equal(stats.candidates, 420 * 45);
    assert.equal(stats.kept, comparisons.length);
    assert.equal(stats.kept + Object.values(stats.dropped).reduce((a, b) => a + b, 0), stats.candidates);
    assert.ok(stats.kept > 5000 && stats.hard > 1000, JSON.stringify(stats));
    for (const c of comparisons.slice(0, 200)) {
      const [w, l] = c.meta!.scores as number[];
      assert.ok(w - l >= 0.5);
      assert.equal(c.prompt, VADER_PROMPT);
      const [a, b] = c.completions.map((s) => s.length);
      assert.ok(Math.max(a, b) / Math.min(a, b) <= 2);
    }
  });
});
