import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readUnpaired } from './read-unpaired.js';

const file = (lines: unknown[]) => {
  const path = join(mkdtempSync(join(tmpdir(), 'rlhf-unpaired-')), 'kto.jsonl');
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
};

describe('readUnpaired', () => {
  it("reads TRL's unpaired rows one by one, with their lines, and reports the unusable ones", () => {
    const path = file([
      { prompt: 'A:', completion: ' good', label: true },
      '',
      { prompt: 'A:', completion: ' bad', label: false },
      { prompt: 'B:', completion: ' no label' },
      { prompt: 'B:', completion: ' x', label: 'yes' },
      {
        prompt: [{ role: 'user', content: 'Hi' }],
        completion: [{ role: 'assistant', content: 'Hello' }],
        label: true,
      },
    ]);
    const r = readUnpaired(path);
    assert.deepEqual(
      r.rows.map((x) => [x.line, x.prompt, x.completion, x.label]),
      [
        [1, 'A:', ' good', true],
        [3, 'A:', ' bad', false],
        [6, '\n\nHuman: Hi\n\nAssistant:', ' Hello', true],
      ],
    );
    assert.deepEqual(r.rows[2].chat?.completion, [{ role: 'assistant', content: 'Hello' }]);
    assert.equal(r.lines, 5);
    assert.deepEqual([r.desirable, r.undesirable], [2, 1]);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.field]),
      [
        [4, 'label'],
        [5, 'label'],
      ],
    );
    assert.match(r.issues[0].message, /missing; true marks a desirable completion, false an undesirable one/);
    assert.match(r.issues[1].message, /must be true or false, got the string "yes"/);
  });

  it('names the file, the line and the fix when no row is usable', () => {
    assert.throws(
      () => readUnpaired(file([{ prompt: 'p', completion: 'c' }])),
      /kto\.jsonl: no usable unpaired rows .*line 1, field "label": missing/,
    );
    assert.throws(
      () => readUnpaired(file([{ prompt: 'p', chosen: 'a', rejected: 'b' }])),
      /look like the trl format \(pairs of completions\): train on pairs with `rlhf train dpo`/,
    );
  });
});
