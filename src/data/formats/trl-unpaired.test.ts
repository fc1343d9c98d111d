import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsField } from './assert-field.js';
import { pairUnpaired, parseUnpaired } from './trl-unpaired.js';

describe('TRL unpaired records', () => {
  it('pairs every good completion with every bad one of the same prompt, and reports the unpaired', () => {
    const rows = [
      { prompt: 'A:', completion: ' good1', label: true },
      { prompt: 'A:', completion: ' bad1', label: false },
      { prompt: 'B:', completion: ' lonely', label: true },
      { prompt: 'A:', completion: ' good2', label: true },
      { prompt: 'C:', completion: ' meh', label: false },
    ].map((o, i) => ({ item: parseUnpaired(o), line: i + 1 }));
    const { comparisons, issues } = pairUnpaired(rows, 'kto.jsonl');
    assert.deepEqual(
      comparisons.map((c) => [c.prompt, ...c.completions]),
      [
        ['A:', ' good1', ' bad1'],
        ['A:', ' good2', ' bad1'],
      ],
    );
    assert.ok(comparisons.every((c) => c.ranking.join() === '0,1'));
    assert.deepEqual(
      issues.map((i) => [i.file, i.line, i.field]),
      [
        ['kto.jsonl', 3, 'label'],
        ['kto.jsonl', 5, 'label'],
      ],
    );
    assert.match(issues[0].message, /unpaired.*labeled false/);
  });

  it('skips, and reports, a completion labeled both ways', () => {
    const rows = [
      { prompt: 'p', completion: 'x', label: true },
      { prompt: 'p', completion: 'x', label: false },
    ].map((o, i) => ({ item: parseUnpaired(o), line: i + 1 }));
    const r = pairUnpaired(rows, 'f');
    assert.equal(r.comparisons.length, 0);
    assert.equal(r.issues[0].line, 2);
  });

  it('renders conversational records and rejects bad ones', () => {
    const u = parseUnpaired({
      prompt: [{ role: 'user', content: 'Hi' }],
      completion: [{ role: 'assistant', content: 'Hello' }],
      label: true,
    });
    assert.deepEqual(u, {
      prompt: '\n\nHuman: Hi\n\nAssistant:',
      completion: ' Hello',
      label: true,
      chat: { prompt: [{ role: 'user', content: 'Hi' }], completion: [{ role: 'assistant', content: 'Hello' }] },
    });
    // paired comparisons keep the messages, for the model's chat template
    const bad = parseUnpaired({
      prompt: [{ role: 'user', content: 'Hi' }],
      completion: [{ role: 'assistant', content: 'Go away' }],
      label: false,
    });
    const [c] = pairUnpaired(
      [
        { item: u, line: 1 },
        { item: bad, line: 2 },
      ],
      'f',
    ).comparisons;
    assert.deepEqual(c.chat, {
      prompt: [{ role: 'user', content: 'Hi' }],
      completions: [[{ role: 'assistant', content: 'Hello' }], [{ role: 'assistant', content: 'Go away' }]],
    });
    throwsField(() => parseUnpaired({ prompt: 'p', completion: 'c' }), 'label', /missing/);
    throwsField(() => parseUnpaired({ prompt: 'p', completion: 'c', label: 1 }), 'label', /true or false/);
    throwsField(() => parseUnpaired({ prompt: 'p', completion: '', label: true }), 'completion', /empty/);
    throwsField(() => parseUnpaired({ completion: 'c', label: true }), 'prompt', /missing/);
  });
});
