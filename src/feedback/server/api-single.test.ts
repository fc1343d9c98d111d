// Thumbs and Likert tasks through the HTTP API: imported with a kind (JSON body or NDJSON query), handed
// out as one text, judged with "thumb" or "rating", counted in the statistics by kind, and exported
// as TRL's unpaired JSONL (kto), which reads back through src/data.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseUnpaired } from '../../data/formats/trl-unpaired.js';
import { readComparisons } from '../../data/read-comparisons.js';
import { errorOf, type Fixture, fixture } from './test-helpers.js';

/** Each labeler judges every task they are given: `answers[who](completion)` is the body's answer. */
async function judgeAll(f: Fixture, answers: Record<'ann' | 'bob', (completion: string) => object>): Promise<void> {
  for (const who of ['ann', 'bob'] as const) {
    for (let i = 0; ; i++) {
      const { task } = (await f.call('GET', `/api/projects/${f.project}/next`, f.tokens[who])).json();
      if (!task) break;
      const r = await f.call('POST', `/api/projects/${f.project}/judgments`, f.tokens[who], {
        taskId: task.taskId,
        submissionId: `${who}-${i}`,
        shown: task.shown,
        ...answers[who](task.completions[0]),
      });
      assert.equal(r.statusCode, 201, r.body);
    }
  }
}

describe('thumbs and Likert tasks through the API', () => {
  it('import with a kind, judge in kind, read the statistics by kind, export kto', async () => {
    const f = await fixture();
    const url = `/api/projects/${f.project}/tasks/import`;
    // `rlhf sample --json` lines as thumbs tasks (JSON form), one gold task of each kind among them.
    const samples = ['good', 'rude', 'tie'].map((x, sample) => JSON.stringify({ prompt: 'Q1', completion: x, sample }));
    const a = await f.call('POST', url, f.tokens.admin, { jsonl: samples.join('\n'), kind: 'thumbs' });
    assert.equal(a.statusCode, 201, a.body);
    assert.deepEqual([a.json().imported, a.json().format, a.json().kinds], [3, 'sample', { thumbs: 3 }]);
    const likert = [
      { prompt: 'Q2', completion: 'fine' },
      { prompt: 'Q2', completion: 'meh' },
      { prompt: 'Q2', completion: 'known', gold: 6 },
    ];
    const b = await f.call(
      'POST',
      `${url}?kind=likert`,
      f.tokens.admin,
      likert.map((l) => JSON.stringify(l)).join('\n'),
      { 'content-type': 'application/x-ndjson' },
    );
    assert.equal(b.statusCode, 201, b.body);
    assert.deepEqual([b.json().format, b.json().kinds], ['tasks', { likert: 3 }]);
    assert.match(b.json().notes.join(' '), /1 gold task/);
    const bad = await f.call('POST', url, f.tokens.admin, { jsonl: samples[0], kind: 'stars' });
    assert.equal(errorOf(bad).field, 'kind');

    // The labeler is handed one text, and answers in the task's kind.
    const { task } = (await f.call('GET', `/api/projects/${f.project}/next`, f.tokens.ann)).json();
    assert.deepEqual([task.kind, task.completions, task.shown], ['thumbs', ['good'], [0]]);
    const submit = (body: object) =>
      f.call('POST', `/api/projects/${f.project}/judgments`, f.tokens.ann, {
        taskId: task.taskId,
        submissionId: 'x1',
        shown: [0],
        ...body,
      });
    assert.equal(errorOf(await submit({ choice: 2 })).field, 'choice');
    assert.equal(errorOf(await submit({ thumb: 'left' })).field, 'thumb');
    assert.equal(errorOf(await submit({ rating: 9 })).field, 'rating');
    assert.equal(errorOf(await submit({ thumb: 'up', shown: [0, 1] })).field, 'shown');
    assert.equal((await submit({ rating: 5 })).statusCode, 400);

    // Ann and bob: "good" up/up, "rude" down/down, "tie" up/down (no majority); "fine" 6/7 (up),
    // "meh" 4/4 (midpoints: no vote), "known" (gold 6) 6/3.
    const plan: Record<string, [object, object]> = {
      good: [{ thumb: 'up' }, { thumb: 'up' }],
      rude: [{ thumb: 'down', feedback: 'rude' }, { thumb: 'down' }],
      tie: [{ thumb: 'up' }, { thumb: 'down' }],
      fine: [{ rating: 6 }, { rating: 7 }],
      meh: [{ rating: 4 }, { rating: 4 }],
      known: [{ rating: 6 }, { rating: 3 }],
    };
    await judgeAll(f, { ann: (c) => plan[c][0], bob: (c) => plan[c][1] });

    const s = (await f.call('GET', `/api/projects/${f.project}/stats`, f.tokens.admin)).json();
    assert.deepEqual(
      s.kinds.map((k: { kind: string; agreement: object; gold: object }) => [k.kind, k.agreement, k.gold]),
      [
        ['thumbs', { n: 3, rate: 2 / 3 }, { n: 0, rate: null }],
        ['likert', { n: 3, rate: 2 / 3 }, { n: 2, rate: 1 / 2 }],
      ],
    );
    assert.equal(s.kinds[1].goldMeanAbsDiff, 1.5);
    const progress = (await f.call('GET', `/api/projects/${f.project}/progress`, f.tokens.ann)).json();
    assert.deepEqual([progress.done, progress.agreement], [6, { n: 6, rate: 4 / 6 }]);

    const r = await f.call('GET', `/api/projects/${f.project}/export?format=kto`, f.tokens.admin);
    assert.equal(r.statusCode, 200, r.body);
    assert.match(String(r.headers['content-disposition']), /filename="summaries-kto.jsonl"/);
    assert.equal(r.headers['x-record-count'], '3');
    const records = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(records, [
      { prompt: 'Q1', completion: 'good', label: true },
      { prompt: 'Q1', completion: 'rude', label: false },
      { prompt: 'Q2', completion: 'fine', label: true },
    ]);
    // TRL's unpaired format as src/data reads it (what `rlhf train kto` takes).
    for (const x of records) assert.deepEqual(parseUnpaired(x), x);
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-kto-'));
    try {
      writeFileSync(join(dir, 'kto.jsonl'), r.body);
      const read = readComparisons(join(dir, 'kto.jsonl'));
      assert.equal(read.format, 'trl-unpaired');
      assert.deepEqual(read.comparisons[0].completions, ['good', 'rude']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const pairs = await f.call('GET', `/api/projects/${f.project}/export?format=trl`, f.tokens.admin);
    assert.equal(pairs.body, '', 'thumbs and ratings are no comparisons');
    await f.store.close();
  });
});
