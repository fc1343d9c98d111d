import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { throwsField } from './formats/assert-field.js';
import { parsePromptRecord, readSFTData, sftTexts } from './text.js';

function jsonl(records: unknown[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'rlhf-text-')), 'd.jsonl');
  writeFileSync(path, records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return path;
}

const u = (content: string) => ({ role: 'user', content });
const a = (content: string) => ({ role: 'assistant', content });

describe('readSFTData: conversations', () => {
  it('reads {"messages"} records (loss on every assistant turn), with each record’s line', () => {
    const path = jsonl([
      { messages: [{ role: 'system', content: 'Be brief.' }, u('Hi'), a('Hello!'), u('Bye'), a('Ciao.')] },
      '',
      { messages: [u('Q'), a('A')] },
    ]);
    const d = readSFTData(path);
    assert.equal(d.kind, 'conversation');
    if (d.kind !== 'conversation') return;
    assert.deepEqual(
      d.conversations.map((c) => [c.messages.length, c.trainFrom, c.line]),
      [
        [5, 0, 1],
        [2, 0, 3],
      ],
    );
    assert.deepEqual(sftTexts(d)[1], '\n\nHuman: Q\n\nAssistant: A');
  });

  it('reads conversational {"prompt", "completion"}: the loss on the completion’s assistant turns only', () => {
    const d = readSFTData(jsonl([{ prompt: [u('Hi'), a('Hello!'), u('Bye')], completion: [a('Ciao.')] }]));
    assert.equal(d.kind, 'conversation');
    if (d.kind === 'conversation') assert.equal(d.conversations[0].trainFrom, 3);
  });

  it('reports, with their lines, records without an answer and records of another kind', () => {
    const d = readSFTData(
      jsonl([
        { messages: [u('Q'), a('A')] },
        { messages: [u('only a question')] },
        { prompt: 'text', completion: 'pair' },
        { prompt: [a('x'), u('y')], completion: [u('not an answer')] },
        { messages: [{ role: 'robot', content: 'x' }] },
      ]),
    );
    assert.equal(d.kind, 'conversation');
    assert.deepEqual(
      d.issues.map((i) => [i.line, i.field]),
      [
        [2, 'messages'],
        [3, 'prompt'],
        [4, 'completion'],
        [5, 'messages[0].role'],
      ],
    );
    assert.match(d.issues[0].message, /no assistant message/);
    assert.match(d.issues[1].message, /started with \{"messages": \[\.\.\.\]\}/);
  });

  it('keeps reading text and prompt/completion files as before', () => {
    assert.equal(readSFTData(jsonl([{ text: 'a' }, { text: 'b' }])).kind, 'text');
    assert.equal(readSFTData(jsonl([{ prompt: 'p', completion: 'c' }])).kind, 'prompt-completion');
  });
});

describe('parsePromptRecord', () => {
  it('takes a text prompt or a conversational one that ends where an answer is due', () => {
    assert.equal(parsePromptRecord({ prompt: 'Once upon' }), 'Once upon');
    assert.deepEqual(parsePromptRecord({ prompt: [u('Hi')] }), [u('Hi')]);
    throwsField(() => parsePromptRecord({ prompt: [u('Hi'), a('Hello')] }), 'prompt[1].role', /assistant/);
    throwsField(() => parsePromptRecord({ prompt: [] }), 'prompt', /empty/);
    throwsField(() => parsePromptRecord({ prompt: 3 }), 'prompt', /string/);
  });
});
