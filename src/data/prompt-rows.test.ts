import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readPromptRows } from './prompt-rows.js';

describe('prompt rows', () => {
  it("keeps each record's other fields as its columns, and reports bad prompts by line", () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rlhf-rows-')), 'p.jsonl');
    writeFileSync(
      path,
      [
        { prompt: '3 8 + 7 5 =', answer: '1 1 3', id: 7 },
        { prompt: [{ role: 'user', content: 'Hi' }], tag: ['a'] },
        { prompt: 5 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const r = readPromptRows(path);
    assert.deepEqual(r.rows, [
      { prompt: '3 8 + 7 5 =', columns: { answer: '1 1 3', id: 7 } },
      { prompt: [{ role: 'user', content: 'Hi' }], columns: { tag: ['a'] } },
    ]);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.field]),
      [[3, 'prompt']],
    );
  });
});
