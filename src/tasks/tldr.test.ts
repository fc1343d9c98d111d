import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCorpusStats } from './fluency.js';
import { loadTask } from './registry.js';
import type { TextUnit } from './sources.js';
import { isContentWord, stem, wordCount, words } from './text.js';
import { extractiveReference, passageOf, tidySummary, tldrExamples, tldrPrompt } from './tldr.js';

const task = loadTask('tldr');
const gold = task.gold;
const passage =
  'The whale rose slowly from the dark water beside the boat. Ahab raised his harpoon and shouted to the crew. ' +
  'The men rowed hard, but the whale dived and vanished.';
const prompt = tldrPrompt(passage);
const faithful = ' Ahab raised his harpoon, but the whale dived and vanished.';

test('a faithful summary beats one with invented words', () => {
  const invented = ' Ahab raised his sword, but the dragon flew away and vanished.';
  const f = gold.explain(prompt, faithful),
    i = gold.explain(prompt, invented);
  assert.ok(f.score > i.score, `${f.score} vs ${i.score}`);
  assert.equal(f.faithfulness, 1);
  assert.ok(i.faithfulness < 0.6);
});

test('a short summary beats a rambling one and a copy of the passage', () => {
  const rambling =
    ' The whale rose from the water beside the boat and Ahab raised his harpoon and shouted to the crew and the ' +
    'men rowed hard.';
  const s = gold.score(prompt, faithful);
  assert.ok(s > gold.score(prompt, rambling), 'rambling');
  assert.equal(gold.score(prompt, ' ' + passage), -1, 'a full copy gets nothing');
  assert.ok(
    gold.explain(prompt, rambling).coverage >= gold.explain(prompt, faithful).coverage,
    'the rambling one covers more, and still loses',
  );
});

test('keyword lists, word salad, unrelated text and gibberish score low', () => {
  const s = gold.score(prompt, faithful);
  for (const bad of [
    ' whale Ahab harpoon dived vanished crew boat',
    ' vanished dived whale the but Ahab harpoon raised his',
    ' It was there.',
    ' xqz plorf wub zzkt',
    '',
    ' The whale.',
  ]) {
    const b = gold.score(prompt, bad);
    assert.ok(b < s - 0.5, `${JSON.stringify(bad)} scored ${b} against ${s}`);
  }
});

test('the prompt format, and prompts without it', () => {
  assert.equal(prompt, passage + '\nTL;DR:');
  assert.equal(passageOf(prompt), passage);
  assert.equal(passageOf(passage), passage);
  assert.equal(gold.score(passage, faithful), gold.score(prompt, faithful), 'the judge reads the passage either way');
});

test('score equals explain().score, lies in [−1, 1] and is deterministic on any string', () => {
  for (const [p, c] of [
    [prompt, faithful],
    ['', ''],
    ['TL;DR:', ' x'],
    ['\u0000', '\u0000'],
    [prompt, ' ' + 'harpoon '.repeat(300)],
    ['__proto__', ' constructor'],
  ]) {
    const s = gold.score(p, c);
    assert.ok(Number.isFinite(s) && s >= -1 && s <= 1, `${JSON.stringify([p, c])} → ${s}`);
    assert.equal(gold.explain(p, c).score, s);
  }
});

test('tidySummary drops stray quotes and a leading conjunction, and ends with a stop', () => {
  assert.equal(tidySummary('and "the whale dived,'), 'The whale dived.');
  assert.equal(tidySummary('— but the men rowed hard;'), 'The men rowed hard.');
  assert.equal(tidySummary('Is it?'), 'Is it?');
});

test('extractiveReference picks the clause span carrying the most salient words, within 15 words', () => {
  const stats = buildCorpusStats(['The sea was calm.', 'The men went to the boat.', 'The men were glad.']);
  const sentences = [
    'The men were glad, and the sea was calm.',
    'Then Queequeg lifted the harpoon of the Pequod, which gleamed, and struck the great white whale.',
  ];
  const ref = extractiveReference(sentences.join(' '), sentences, stats);
  assert.ok(ref && wordCount(ref) <= 15, ref ?? 'null');
  assert.match(ref!, /Queequeg|harpoon|Pequod|whale/, 'rare words carry the weight');
  assert.equal(extractiveReference('Yes. No.', ['Yes.', 'No.'], stats), null, 'no span of 4–15 words');
});

test('passages are 1–4 sentences of 16–40 words; references are short and extractive', () => {
  const sentences = [
    'The whale rose slowly from the dark water beside the boat.',
    'Ahab raised his harpoon and shouted to the crew.',
    'The men rowed hard, but the whale dived and vanished.',
    'Night fell.',
  ];
  const unit: TextUnit = { id: 'test:1', source: 'moby-dick', text: sentences.join(' '), sentences };
  const stats = buildCorpusStats([]);
  const disjoint = tldrExamples(unit, stats, false),
    all = tldrExamples(unit, stats, true);
  assert.ok(disjoint.length >= 1 && all.length > disjoint.length);
  for (const e of all) {
    const n = wordCount(e.passage);
    assert.ok(n >= 16 && n <= 40, e.passage);
    assert.equal(e.prompt, tldrPrompt(e.passage));
  }
  for (const e of [
    ...task.sft.slice(0, 2000),
    ...task.eval.map((x) => ({ prompt: x.prompt, completion: x.reference })),
  ]) {
    assert.ok(
      e.completion.startsWith(' ') && wordCount(e.completion) >= 4 && wordCount(e.completion) <= 15,
      e.completion,
    );
    const pw = new Set(words(passageOf(e.prompt)).map(stem));
    for (const w of words(e.completion))
      if (isContentWord(w))
        assert.ok(pw.has(stem(w)), `"${w}" of ${JSON.stringify(e.completion)} is not in its passage`);
    const n = wordCount(passageOf(e.prompt));
    assert.ok(n >= 16 && n <= 40, `passage of ${n} words`);
  }
  assert.deepEqual(task.generation, { maxNewTokens: 32, stop: ['\n'] });
});
