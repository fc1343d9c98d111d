import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Comparison, toPairs } from '../data/comparison.js';
import { renderCompletion, renderPrompt } from '../data/formats/chat.js';
import { readComparisons } from '../data/read-comparisons.js';
import { planOutput, writeTable } from './dataset-file.js';
import { toCompletionMessages, toPromptMessages } from './messages.js';
import { preferenceFlags, preferenceTable } from './preferences.js';

const HH = '\n\nHuman: What is 2+2?\n\nAssistant: Four.\n\nHuman: And 3+3?\n\nAssistant:';
const comparisons: Comparison[] = [
  { prompt: HH, completions: [' Six.', ' Seven.', ' 6'], ranking: [0, 2, 1], confidence: 0.5 },
  { prompt: 'Write a haiku about rain:', completions: [' Rain on the roof', ' Sun'], ranking: [0, 1], margin: 1.5 },
  {
    prompt: '\n\nHuman: Hi\n\nAssistant:',
    completions: [' Hello!\n\nHuman: Thanks\n\nAssistant: Welcome.', ' Go away.'],
    ranking: [1, 0],
  },
];

const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-export-prefs-'));

describe('chat messages from our texts', () => {
  it('splits HH prompts into the turns that render back to the same text', () => {
    const m = toPromptMessages(HH);
    assert.equal(m.exact, true);
    assert.deepEqual(m.messages, [
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: 'Four.' },
      { role: 'user', content: 'And 3+3?' },
    ]);
    assert.equal(renderPrompt(m.messages), HH);
  });

  it('makes any other prompt one user message, and says it is not exact', () => {
    assert.deepEqual(toPromptMessages('Write a haiku:'), {
      messages: [{ role: 'user', content: 'Write a haiku:' }],
      exact: false,
    });
    // Starts like HH but does not end with the assistant cue.
    assert.equal(toPromptMessages('\n\nHuman: hi').exact, false);
  });

  it('splits completions into the answer and the turns after it', () => {
    const c = toCompletionMessages(' Hello!\n\nHuman: Thanks\n\nAssistant: Welcome.');
    assert.equal(c.exact, true);
    assert.deepEqual(c.messages, [
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Thanks' },
      { role: 'assistant', content: 'Welcome.' },
    ]);
    assert.equal(renderCompletion(c.messages, 'c'), ' Hello!\n\nHuman: Thanks\n\nAssistant: Welcome.');
    assert.deepEqual(toCompletionMessages('no space'), {
      messages: [{ role: 'assistant', content: 'no space' }],
      exact: false,
    });
    assert.deepEqual(toCompletionMessages(' '), { messages: [{ role: 'assistant', content: '' }], exact: false });
  });
});

describe('preference export', () => {
  it("writes every pair of every ranking with TRL's columns", () => {
    const { table, stats } = preferenceTable(comparisons, { target: 'trl', chat: false, margin: false });
    assert.deepEqual(
      table.columns.map((c) => c.name),
      ['prompt', 'chosen', 'rejected'],
    );
    assert.equal(stats.pairs, 3 + 1 + 1);
    assert.equal(stats.marginDropped, 1);
    assert.deepEqual(
      table.rows.map((r) => r.values),
      comparisons.flatMap((c) => toPairs(c).map((p) => ({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected }))),
    );
    assert.deepEqual(preferenceFlags({ target: 'trl', chat: false, margin: false }), []);
  });

  it('takes the margin from the record, else its confidence, else 0', () => {
    const { table, stats } = preferenceTable(comparisons, { target: 'openrlhf', chat: false, margin: true });
    assert.deepEqual(
      table.rows.map((r) => r.values.margin),
      [0.5, 0.5, 0.5, 1.5, 0],
    );
    assert.deepEqual(stats.marginFrom, { margin: 1, confidence: 3, zero: 1 });
    assert.deepEqual(preferenceFlags({ target: 'openrlhf', chat: true, margin: true }).slice(0, 4), [
      '--prompt_key prompt',
      '--chosen_key chosen',
      '--rejected_key rejected',
      '--apply_chat_template',
    ]);
  });

  it('round-trips through our TRL reader: the same pairs and margins come back (JSONL)', async () => {
    const { table } = preferenceTable(comparisons, { target: 'trl', chat: false, margin: true });
    const file = join(tmp(), 'prefs.jsonl');
    await writeTable(table, planOutput(file));
    const back = readComparisons(file);
    assert.equal(back.format, 'trl');
    assert.deepEqual(back.issues, []);
    assert.deepEqual(
      back.comparisons.map((c) => [c.prompt, c.completions, c.margin]),
      table.rows.map((r) => [r.values.prompt, [r.values.chosen, r.values.rejected], r.values.margin]),
    );
  });

  it('writes the conversational form that our reader renders back to the same HH texts', async () => {
    const { table, stats } = preferenceTable(comparisons, { target: 'trl', chat: true, margin: false });
    assert.deepEqual(
      table.columns.map((c) => c.type),
      ['messages', 'messages', 'messages'],
    );
    assert.equal(stats.plainPrompts, 1); // the haiku prompt is not a dialogue
    assert.equal(stats.plainCompletions, 0);
    const file = join(tmp(), 'chat.jsonl');
    await writeTable(table, planOutput(file));
    const first = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]);
    assert.deepEqual(first.chosen, [{ role: 'assistant', content: 'Six.' }]);
    const back = readComparisons(file);
    assert.deepEqual(back.issues, []);
    const pairs = comparisons.flatMap((c) => toPairs(c));
    back.comparisons.forEach((c, i) => {
      const p = pairs[i];
      // HH dialogues come back exactly; the plain prompt comes back as a one-turn dialogue.
      assert.equal(
        c.prompt,
        p.prompt.startsWith('\n\n') ? p.prompt : renderPrompt([{ role: 'user', content: p.prompt }]),
      );
      assert.deepEqual(c.completions, [p.chosen, p.rejected]);
    });
  });
});
