import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readJsonl } from './jsonl.js';
import { detectFormat, readComparisons, readScoredItems } from './read-comparisons.js';
import { parseComparison } from './comparison.js';
import { writeJsonl } from './jsonl.js';

// The first 300 pairs of hh-rlhf harmless-base/test.jsonl.gz (tests/fixtures/data/README.md).
const HH = fileURLToPath(new URL('../../tests/fixtures/data/hh-rlhf-harmless/test.jsonl.gz', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rlhf-read-'));

function file(name: string, lines: unknown[]): string {
  const path = join(dir, name);
  const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
  writeFileSync(path, name.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}

describe('readComparisons', () => {
  it('detects every format from the first record', () => {
    assert.equal(detectFormat({ prompt: '', completions: [], ranking: [] }), 'comparison');
    assert.equal(detectFormat({ chosen: '', rejected: '' }), 'trl');
    assert.equal(detectFormat({ prompt: '', completion: '', label: true }), 'trl-unpaired');
    assert.equal(detectFormat({ info: {}, summaries: [], choice: 0 }), 'openai');
    assert.equal(detectFormat({ text: '', score: 1 }), 'scored');
    assert.equal(detectFormat({ prompt: '' }), null);
    const cases: [string, unknown[], string, number][] = [
      ['ours.jsonl', [{ prompt: 'p', completions: ['a', 'b'], ranking: [1, 0] }], 'comparison', 1],
      ['trl.jsonl.gz', [{ chosen: 'Q: yes', rejected: 'Q: no' }], 'trl', 1],
      [
        'kto.jsonl',
        [
          { prompt: 'p', completion: 'a', label: true },
          { prompt: 'p', completion: 'b', label: false },
        ],
        'trl-unpaired',
        1,
      ],
      [
        'tldr.jsonl',
        [{ info: { post: 'P', title: 'T', subreddit: 's' }, summaries: [{ text: ' a' }, { text: ' b' }], choice: 0 }],
        'openai',
        1,
      ],
      [
        'scored.jsonl',
        [
          { text: 'good one', score: 5 },
          { text: 'bad ones', score: 1 },
        ],
        'scored',
        1,
      ],
    ];
    for (const [name, lines, format, n] of cases) {
      const r = readComparisons(file(name, lines));
      assert.equal(r.format, format, name);
      assert.equal(r.comparisons.length, n, name);
      assert.equal(r.issues.length, 0, name);
    }
    const vader = join(dir, 'v_GroundTruth.txt');
    writeFileSync(vader, '1\t2\tlovely sunny day\r\n2\t-2\tawful rainy day\r\n');
    const v = readComparisons(vader);
    assert.equal(v.format, 'vader');
    assert.equal(v.comparisons[0].completions[0], 'lovely sunny day');
    assert.equal(v.comparisons[0].source, 'vader:v_GroundTruth.txt');
  });

  it('reports bad lines with file, line and field, and reads the rest', () => {
    const path = file('mixed.jsonl', [
      { chosen: 'Q: a', rejected: 'Q: b' },
      '{not json',
      { chosen: 'Q: a' },
      '',
      { chosen: 'same', rejected: 'same' },
      { chosen: 'Q: c', rejected: 'Q: d', margin: -1 },
      { chosen: 'Q: e', rejected: 'Q: f' },
    ]);
    const r = readComparisons(path);
    assert.equal(r.comparisons.length, 2);
    assert.equal(r.lines, 6);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.field]),
      [
        [2, undefined],
        [3, 'rejected'],
        [5, 'rejected'],
        [6, 'margin'],
      ],
    );
    assert.ok(r.comparisons.every((c) => c.source === 'trl:mixed.jsonl'));
  });

  it('reports unpaired records with their lines', () => {
    const r = readComparisons(
      file('kto2.jsonl', [
        { prompt: 'p', completion: 'a', label: true },
        '',
        'oops',
        { prompt: 'q', completion: 'lonely', label: false },
        { prompt: 'p', completion: 'b', label: false },
      ]),
    );
    assert.equal(r.comparisons.length, 1);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.field ?? null]),
      [
        [3, null],
        [4, 'label'],
      ],
    );
  });

  it("names the file, the first record's keys and the accepted formats when it cannot tell", () => {
    const path = file('odd.jsonl', [
      { question: 'q', answer: 'a' },
      { chosen: 'x', rejected: 'y' },
    ]);
    assert.throws(
      () => readComparisons(path),
      (e: Error) => {
        assert.match(e.message, /odd\.jsonl/);
        assert.match(e.message, /line 1's keys \(question, answer\)/);
        assert.match(e.message, /comparison:.*\n.*trl:/s);
        assert.match(e.message, /--format/);
        return true;
      },
    );
    assert.throws(() => readComparisons(file('empty.jsonl', [])), /no records/);
    // A format given explicitly is used for every line.
    const r = readComparisons(path, { format: 'trl' });
    assert.equal(r.comparisons.length, 1);
    assert.equal(r.issues[0].field, 'chosen');
  });

  it('pairs scored items with overridable options', () => {
    const path = file('votes.jsonl', [
      { group: 't1', prompt: 'Post:', text: ' nice reply', score: 10, time: 0 },
      { group: 't1', prompt: 'Post:', text: ' rude reply', score: 1, time: 60 },
      { group: 't1', prompt: 'Post:', text: ' late reply', score: 0, time: 10 ** 6 },
      { group: 't1', prompt: 'Post:', score: 3 },
    ]);
    const r = readComparisons(path);
    assert.equal(r.format, 'scored');
    assert.equal(r.pairStats!.dropped.timeGap, 2);
    assert.deepEqual(
      r.comparisons.map((c) => c.completions),
      [[' nice reply', ' rude reply']],
    );
    assert.equal(r.issues[0].field, 'text');
    assert.equal(readComparisons(path, { pairing: { maxTimeGap: Infinity } }).comparisons.length, 3);
    const items = readScoredItems(path);
    assert.equal(items.items.length, 3);
  });

  it("reads TRL's conversational preference forms, keeping the messages for a chat template", () => {
    const u = { role: 'user', content: 'Capital of France?' };
    const r = readComparisons(
      file('conv.jsonl', [
        {
          prompt: [u],
          chosen: [{ role: 'assistant', content: 'Paris.' }],
          rejected: [{ role: 'assistant', content: 'Lyon.' }],
        },
        {
          chosen: [u, { role: 'assistant', content: 'Paris.' }],
          rejected: [u, { role: 'assistant', content: 'Nice.' }],
        },
      ]),
    );
    assert.equal(r.format, 'trl');
    assert.equal(r.comparisons.length, 2);
    for (const c of r.comparisons) {
      assert.deepEqual(c.chat?.prompt, [u]);
      assert.equal(c.prompt, '\n\nHuman: Capital of France?\n\nAssistant:');
    }
    assert.deepEqual(r.comparisons[1].chat?.completions[1], [{ role: 'assistant', content: 'Nice.' }]);
    // our own format keeps "chat" through a write and a read
    const back = readComparisons(file('ours-chat.jsonl', r.comparisons), { format: 'comparison' });
    assert.deepEqual(back.issues, []);
    assert.deepEqual(back.comparisons[0].chat, r.comparisons[0].chat);
    const bad = readComparisons(
      file('bad-chat.jsonl', [
        { ...r.comparisons[0], chat: { prompt: [u], completions: [[{ role: 'user', content: 'x' }]] } },
      ]),
      { format: 'comparison' },
    );
    assert.equal(bad.issues[0].field, 'chat.completions');
  });

  it('round-trips our format through writeJsonl', async () => {
    const cs = [
      {
        prompt: 'p',
        completions: ['a', 'b', 'c'],
        ranking: [2, 0],
        confidence: 0.5,
        feedback: 'c reads best',
        hard: true,
        meta: { k: 1 },
      },
      { prompt: '', completions: ['x', 'y'], ranking: [0, 1] },
    ];
    const path = join(dir, 'round.jsonl');
    await writeJsonl(path, cs);
    assert.deepEqual(readComparisons(path).comparisons, cs);
    assert.deepEqual(readJsonl(path, parseComparison).records, cs);
  });

  it('reads real hh-rlhf harmless pairs as TRL implicit-prompt dialogues', () => {
    // NOTE: the contents are offensive by design; this test checks structure and never prints them.
    const r = readComparisons(HH);
    assert.equal(r.format, 'trl');
    assert.equal(r.lines, 300);
    assert.equal(r.issues.length, 0, `first issue at line ${r.issues[0]?.line}, field ${r.issues[0]?.field}`);
    assert.equal(r.comparisons.length, 300);
    let ok = 0;
    for (const c of r.comparisons) {
      if (
        c.prompt.startsWith('\n\nHuman:') &&
        c.prompt.endsWith('\n\nAssistant:') &&
        c.completions.every((x) => x.length > 0) &&
        c.completions[0] !== c.completions[1]
      )
        ok++;
    }
    assert.equal(ok, 300, "every prompt is a dialogue ending at the assistant's cue");
  });
});
