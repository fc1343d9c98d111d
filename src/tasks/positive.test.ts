import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTask } from './registry.js';
import { positiveExamples, vaderCompound } from './positive.js';
import type { TextUnit } from './sources.js';
import { usableSentence, wordCount } from './text.js';

const task = loadTask('positive');
const gold = task.gold;
const prompt = 'The captain looked at the sea and';

test('a fluent positive continuation beats a neutral one, which beats a negative one', () => {
  const pos = gold.score(prompt, ' felt glad, for it was a fine and beautiful day.');
  const neutral = gold.score(prompt, ' saw that the boats were ready to go.');
  const neg = gold.score(prompt, ' felt sad, for it was a cold and miserable day.');
  assert.ok(pos > neutral && neutral > neg, `${pos} > ${neutral} > ${neg}`);
  assert.ok(pos > 0.5, `a clearly positive fluent sentence scores high, got ${pos}`);
});

test('repetition, gibberish, emoticons and strings of positive words score at the bottom', () => {
  const neg = gold.score(prompt, ' felt sad, for it was a cold and miserable day.');
  for (const bad of [
    ' good good good good',
    ' xqz plorf wub zzkt mrrp',
    ' happy love glad joy smile kind',
    ' felt glad :) :) :)',
    '',
    '   ',
  ]) {
    const s = gold.score(prompt, bad);
    assert.ok(s <= neg, `${JSON.stringify(bad)} scored ${s}, above a fluent negative sentence (${neg})`);
    assert.ok(s <= -0.99, `${JSON.stringify(bad)} scored ${s}`);
  }
  // Word salad of a positive sentence loses most of its score.
  const fluent = gold.score(prompt, ' felt glad, for it was a fine and beautiful day.');
  const salad = gold.score(prompt, ' day fine glad a beautiful for it felt was and');
  assert.ok(salad < fluent - 0.5, `salad ${salad} vs fluent ${fluent}`);
});

test('sentiment is judged on the whole sentence, so a negation in the prompt counts', () => {
  const e = gold.explain('He was not', ' happy at all, and the day was long.');
  assert.ok(e.sentiment < 0, `"He was not happy at all" should read negative, got ${e.sentiment}`);
  assert.ok(vaderCompound(' happy at all, and the day was long.') > 0);
  // Capitals do not dodge the negation or buy emphasis.
  assert.ok(vaderCompound('NOT GOOD') < 0);
});

test('score equals explain().score, lies in [−1, 1] and is deterministic on any string', () => {
  const inputs: [string, string][] = [
    [prompt, ' felt glad.'],
    ['', ''],
    ['\u0000', '\u0000'],
    ['x', '!!!!!!'],
    ['__proto__', ' constructor'],
    [prompt, ' ' + 'whale '.repeat(500)],
    ['😀', ' 😀 😀'],
  ];
  for (const [p, c] of inputs) {
    const s = gold.score(p, c);
    assert.ok(Number.isFinite(s) && s >= -1 && s <= 1, `${JSON.stringify([p, c])} → ${s}`);
    assert.equal(gold.explain(p, c).score, s);
    assert.equal(gold.score(p, c), s);
  }
});

test('the gold judge is fast enough for PPO and best-of-N (≥ 500 scores a second even on a busy machine)', () => {
  const xs = task.sft.slice(0, 1000);
  const t0 = performance.now();
  for (const e of xs) gold.score(e.prompt, e.completion);
  const perSecond = xs.length / ((performance.now() - t0) / 1000);
  assert.ok(perSecond > 500, `${perSecond.toFixed(0)} scores/s`);
});

test('examples cut a sentence after its first words and keep the rest, with its leading space', () => {
  const unit: TextUnit = {
    id: 'test:1',
    source: 'jokes',
    text: '',
    sentences: [
      'Short one.',
      'The old man went down to the sea in his small boat, and he was glad of the calm.',
      'no capital at the start of this sentence so it is left out of the task.',
    ],
  };
  const ex = positiveExamples(unit, 0);
  assert.equal(ex.length, 1);
  const { prompt: p, completion: c, sentence } = ex[0];
  assert.equal(p + c, sentence);
  assert.ok(c.startsWith(' ') && !p.endsWith(' '));
  assert.ok(wordCount(p) >= 3 && wordCount(p) <= 6, p);
  assert.deepEqual(positiveExamples(unit, 0), ex, 'same seed, same cut');
});

test('usableSentence wants a capital start, a final stop and balanced quotes', () => {
  assert.equal(usableSentence('"Aye," said he, "the whale is near."'), true);
  assert.equal(usableSentence('"Aye," said he, "the whale is near.'), false);
  assert.equal(usableSentence('the whale is near.'), false);
  assert.equal(usableSentence('The whale is near'), false);
  assert.equal(usableSentence('The whale* is near.'), false);
});

test('the task data: completions of 5–14 words, prompts of 3–16', () => {
  for (const e of task.sft) {
    const n = wordCount(e.completion),
      k = wordCount(e.prompt);
    assert.ok(n >= 5 && n <= 14 && k >= 3 && k <= 16, JSON.stringify(e));
  }
  assert.deepEqual(task.generation, { maxNewTokens: 40, stop: ['\n'] });
});
