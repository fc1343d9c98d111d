import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throwsField } from './assert-field.js';
import { splitImplicit, splitMessages } from './chat.js';
import { parseTRL, toTRL } from './trl.js';

const H = '\n\nHuman: ',
  A = '\n\nAssistant:';

describe('TRL preference records', () => {
  it('reads the explicit-prompt form with its margin', () => {
    assert.deepEqual(parseTRL({ prompt: 'Q:', chosen: ' yes', rejected: ' no', margin: 2 }), {
      prompt: 'Q:',
      completions: [' yes', ' no'],
      ranking: [0, 1],
      margin: 2,
      source: 'trl',
    });
  });

  it('splits HH dialogues after the last shared "\\n\\nAssistant:", even when the answers share words', () => {
    const prompt = `${H}Hi${A} Hello!${H}How do I bake bread?${A}`;
    const c = parseTRL({
      chosen: `${prompt} You need flour, water and yeast.`,
      rejected: `${prompt} You need an oven.`,
    });
    assert.equal(c.prompt, prompt);
    assert.deepEqual(c.completions, [' You need flour, water and yeast.', ' You need an oven.']);
    // A reply that itself contains an assistant marker (seen in hh-rlhf) stays in its completion.
    const d = splitImplicit(`${H}Q${A} a${A} b`, `${H}Q${A} c`);
    assert.deepEqual(d, { prompt: `${H}Q${A}`, chosen: ` a${A} b`, rejected: ' c' });
    // A blank answer is still an answer.
    assert.deepEqual(splitImplicit(`${H}Q${A} `, `${H}Q${A} Sure.`).chosen, ' ');
  });

  it('splits generic texts at the longest common prefix without cutting a word', () => {
    assert.deepEqual(splitImplicit('The cat sat down', 'The car sat down'), {
      prompt: 'The',
      chosen: ' cat sat down',
      rejected: ' car sat down',
    });
    assert.deepEqual(splitImplicit('Answer: 4', 'Answer: 5'), { prompt: 'Answer:', chosen: ' 4', rejected: ' 5' });
    // One text a prefix of the other: both completions stay non-empty.
    assert.deepEqual(splitImplicit('Hi there', 'Hi there, friend'), {
      prompt: 'Hi',
      chosen: ' there',
      rejected: ' there, friend',
    });
    assert.deepEqual(splitImplicit('Yes', 'No'), { prompt: '', chosen: 'Yes', rejected: 'No' });
    assert.deepEqual(splitImplicit('line one\nyes', 'line one\nno'), {
      prompt: 'line one',
      chosen: '\nyes',
      rejected: '\nno',
    });
  });

  it('renders conversational records with the HH template, equal to the same record as text', () => {
    const conv = parseTRL({
      prompt: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Capital of France?' },
      ],
      chosen: [{ role: 'assistant', content: 'Paris.' }],
      rejected: [{ role: 'assistant', content: 'Lyon.' }],
    });
    assert.equal(conv.prompt, '\n\nSystem: Be brief.\n\nHuman: Capital of France?\n\nAssistant:');
    assert.deepEqual(conv.completions, [' Paris.', ' Lyon.']);
    // the messages stay beside the texts, for a model's own chat template
    assert.deepEqual(conv.chat, {
      prompt: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Capital of France?' },
      ],
      completions: [[{ role: 'assistant', content: 'Paris.' }], [{ role: 'assistant', content: 'Lyon.' }]],
    });
    const implicit = parseTRL({
      chosen: [
        { role: 'user', content: 'Capital of France?' },
        { role: 'assistant', content: 'Paris.' },
      ],
      rejected: [
        { role: 'user', content: 'Capital of France?' },
        { role: 'assistant', content: 'Lyon.' },
      ],
    });
    const text = parseTRL({
      chosen: `${H}Capital of France?${A} Paris.`,
      rejected: `${H}Capital of France?${A} Lyon.`,
    });
    const { chat, ...texts } = implicit;
    assert.deepEqual(texts, text);
    // the implicit prompt is the shared leading messages, as TRL's extract_prompt cuts it
    assert.deepEqual(chat?.prompt, [{ role: 'user', content: 'Capital of France?' }]);
    assert.deepEqual(chat?.completions, [
      [{ role: 'assistant', content: 'Paris.' }],
      [{ role: 'assistant', content: 'Lyon.' }],
    ]);
  });

  it('cuts implicit conversations before an assistant message on both sides', () => {
    const u = { role: 'user' as const, content: 'q' },
      a = { role: 'assistant' as const, content: 'a' };
    const s = splitMessages(
      [u, a, u, { role: 'assistant', content: 'x' }],
      [u, a, u, { role: 'assistant', content: 'y' }],
    );
    assert.equal(s.prompt.length, 3);
    // Shared through the assistant turn, then different user turns: back to the last shared assistant cue.
    const t = splitMessages([u, a, { role: 'user', content: 'more' }], [u, a, { role: 'user', content: 'less' }]);
    assert.equal(t.prompt.length, 1);
    assert.deepEqual(
      t.chosen.map((m) => m.role),
      ['assistant', 'user'],
    );
  });

  it('rejects bad records, naming the field', () => {
    throwsField(() => parseTRL({ chosen: 'a' }), 'rejected', /missing/);
    throwsField(() => parseTRL({ rejected: 'a' }), 'chosen', /missing/);
    throwsField(() => parseTRL({ chosen: 'a', rejected: 3 }), 'rejected', /string/);
    throwsField(() => parseTRL({ chosen: 'same', rejected: 'same' }), 'rejected', /identical/);
    throwsField(() => parseTRL({ prompt: 'p', chosen: '', rejected: 'x' }), 'chosen', /empty/);
    throwsField(() => parseTRL({ prompt: 5, chosen: 'a', rejected: 'b' }), 'prompt', /string/);
    throwsField(() => parseTRL({ prompt: 'p', chosen: 'a', rejected: 'b', margin: 'big' }), 'margin', /number/);
    throwsField(
      () => parseTRL({ chosen: [{ role: 'user', content: 'q' }], rejected: 'b' }),
      'rejected',
      /list of messages/,
    );
    throwsField(
      () =>
        parseTRL({ prompt: [{ role: 'user', content: 'q' }], chosen: [{ role: 'bot', content: 'a' }], rejected: [] }),
      'chosen[0].role',
      /user, assistant, system/,
    );
    throwsField(
      () =>
        parseTRL({
          prompt: [{ role: 'user', content: 'q' }],
          chosen: [{ role: 'user', content: 'a' }],
          rejected: [{ role: 'assistant', content: 'b' }],
        }),
      'chosen[0].role',
      /assistant/,
    );
    throwsField(
      () => parseTRL({ prompt: [{ role: 'user', content: [{ type: 'text' }] }], chosen: [], rejected: [] }),
      'prompt[0].content',
      /content parts/,
    );
    throwsField(() => parseTRL({ chosen: `${H}Q${A} a`, rejected: `${H}Q${A}` }), 'rejected', /no answer/);
  });
});

describe('toTRL', () => {
  it('writes one record per pair, with the margin or (when asked) the confidence', () => {
    const c = { prompt: 'p', completions: ['a', 'b', 'c'], ranking: [1, 0, 2], confidence: 0.5 };
    assert.deepEqual(toTRL(c), [
      { prompt: 'p', chosen: 'b', rejected: 'a' },
      { prompt: 'p', chosen: 'b', rejected: 'c' },
      { prompt: 'p', chosen: 'a', rejected: 'c' },
    ]);
    assert.ok(toTRL(c, { marginFromConfidence: true }).every((r) => r.margin === 0.5));
    assert.ok(toTRL({ ...c, margin: 2 }, { marginFromConfidence: true }).every((r) => r.margin === 2));
    // Round trip: TRL out, TRL in.
    const back = parseTRL({ ...toTRL({ prompt: 'Q:', completions: [' x', ' y'], ranking: [1, 0], margin: 1 })[0] });
    assert.deepEqual(back, { prompt: 'Q:', completions: [' y', ' x'], ranking: [0, 1], margin: 1, source: 'trl' });
    // conversational comparisons are written as messages, and read back the same
    const conv = parseTRL({
      prompt: [{ role: 'user', content: 'Q' }],
      chosen: [{ role: 'assistant', content: 'yes' }],
      rejected: [{ role: 'assistant', content: 'no' }],
    });
    const [rec] = toTRL(conv);
    assert.deepEqual(rec.prompt, [{ role: 'user', content: 'Q' }]);
    assert.deepEqual(parseTRL({ ...rec }), conv);
  });
});
