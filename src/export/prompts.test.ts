import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readJsonl, stringField } from '../data/jsonl.js';
import { readSFTData } from '../data/text.js';
import { planOutput, writeTable } from './dataset-file.js';
import { dedupe, promptFlags, promptTable, readPrompts, readSFTExamples, sftFlags, sftTable } from './prompts.js';

const dir = mkdtempSync(join(tmpdir(), 'rlhf-export-prompts-'));
const file = (name: string, lines: unknown[]) => {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return p;
};

const HH = '\n\nHuman: Hi\n\nAssistant:';
const comparisons = file('c.jsonl', [
  { prompt: HH, completions: [' Hello!', ' Go away.'], ranking: [0, 1] },
  { prompt: 'Sum: 2 + 2 =', completions: [' 5', ' 4', ' 22'], ranking: [1, 0, 2] },
  { prompt: HH, completions: [' Hey.', ' Bye.'], ranking: [1, 0] },
  { prompt: 'broken', completions: ['only one'], ranking: [0] },
]);

describe('prompt sources', () => {
  it('reads prompts from comparisons, reporting the unusable ones', () => {
    const r = readPrompts(comparisons);
    assert.equal(r.kind, 'comparisons');
    assert.equal(r.format, 'comparison');
    assert.deepEqual(r.items, [HH, 'Sum: 2 + 2 =', HH]);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.field]),
      [[4, 'completions']],
    );
    assert.deepEqual(
      dedupe(r.items, (p) => p),
      { items: [HH, 'Sum: 2 + 2 ='], dropped: 1 },
    );
  });

  it('reads prompt files and `rlhf sample --json` output, naming the bad line', () => {
    const p = file('p.jsonl', [
      { prompt: 'a' },
      { prompt: 'b', completion: ' x', sample: 0, finish_reason: 'stop' },
      { text: 'no prompt' },
      'not json',
    ]);
    const r = readPrompts(p);
    assert.equal(r.kind, 'records');
    assert.deepEqual(r.items, ['a', 'b']);
    assert.deepEqual(
      r.issues.map((i) => [i.line, i.field ?? null]),
      [
        [3, 'prompt'],
        [4, null],
      ],
    );
    assert.throws(() => readPrompts(file('empty.jsonl', [])), /has no records/);
  });

  it('takes each comparison\'s best completion for SFT, or {"prompt","completion"} records', () => {
    assert.deepEqual(readSFTExamples(comparisons).items, [
      { prompt: HH, completion: ' Hello!' },
      { prompt: 'Sum: 2 + 2 =', completion: ' 4' },
      { prompt: HH, completion: ' Bye.' },
    ]);
    const pairs = file('sft.jsonl', [{ prompt: 'p', completion: ' c' }]);
    assert.deepEqual(readSFTExamples(pairs).items, [{ prompt: 'p', completion: ' c' }]);
    assert.throws(
      () => readSFTExamples(file('docs.jsonl', [{ text: 'a document' }])),
      /holds \{"text"\} documents; an SFT dataset needs/,
    );
  });
});

describe('prompt and SFT tables', () => {
  it('names the prompt column as each trainer reads it by default', async () => {
    const trl = promptTable(['a', HH], { target: 'trl', chat: false }).table;
    assert.deepEqual(trl.columns, [{ name: 'prompt', type: 'text' }]);
    const orl = promptTable(['a', HH], { target: 'openrlhf', chat: true });
    assert.deepEqual(orl.table.columns, [{ name: 'input', type: 'messages' }]);
    assert.deepEqual(
      orl.table.rows.map((r) => r.values.input),
      [[{ role: 'user', content: 'a' }], [{ role: 'user', content: 'Hi' }]],
    );
    assert.equal(orl.stats.plainPrompts, 1);
    assert.deepEqual(promptFlags({ target: 'openrlhf', chat: true }), ['--input_key input', '--apply_chat_template']);
    // A TRL prompt file is a prompt file for our own commands (`rlhf sample --prompts`, `rlhf train ppo`).
    const out = join(dir, 'prompts-out.jsonl');
    await writeTable(trl, planOutput(out));
    assert.deepEqual(readJsonl(out, (o) => stringField(o, 'prompt')).records, ['a', HH]);
  });

  it("writes SFT pairs our SFT reader reads back, and OpenRLHF's input/output with its flags", async () => {
    const examples = [
      { prompt: 'Sum: 2 + 2 =', completion: ' 4' },
      { prompt: HH, completion: ' Hello!' },
    ];
    const trl = sftTable(examples, { target: 'trl', chat: false }).table;
    const out = join(dir, 'sft-out.jsonl');
    await writeTable(trl, planOutput(out));
    const back = readSFTData(out);
    assert.equal(back.kind, 'prompt-completion');
    assert.deepEqual(back.kind === 'prompt-completion' && back.examples, examples);

    const orl = sftTable(examples, { target: 'openrlhf', chat: true });
    assert.deepEqual(
      orl.table.columns.map((c) => c.name),
      ['input', 'output'],
    );
    assert.deepEqual(orl.table.rows[1].values, {
      input: [{ role: 'user', content: 'Hi' }],
      output: [{ role: 'assistant', content: 'Hello!' }],
    });
    assert.deepEqual([orl.stats.plainPrompts, orl.stats.plainCompletions], [1, 0]);
    assert.deepEqual(sftFlags({ target: 'openrlhf', chat: false }), [
      '--input_key input',
      '--output_key output',
      "--input_template ''",
    ]);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
  });
});
