import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCorpusStats, countText, fluencyGate, idf } from './fluency.js';

// A small corpus where the sentences below are typical and their shuffles are not.
const docs = [
  'The old man went down to the sea in his small boat.',
  'The sea was calm and the sky was clear.',
  'He was glad to see the sun rise over the water.',
  'The men went down to the boat and rowed out to sea.',
  'The whale rose from the water and the men were afraid.',
  'It was a fine day and the old man was happy.',
  'He saw the whale and the whale saw him.',
];
const stats = buildCorpusStats(docs);

test('corpus statistics count words, adjacent pairs and document frequencies', () => {
  assert.equal(stats.unigrams.get('whale'), 3);
  assert.equal(stats.bigrams.get('the sea'), 2);
  assert.equal(stats.bigrams.get('sea the'), undefined);
  assert.equal(stats.documents, 7);
  assert.equal(stats.docFreq.get('whal'), 2); // "whale" stems to "whal"
  assert.ok(idf(stats, 'whal') > idf(stats, 'the'));
  assert.ok(idf(stats, 'zebra') > idf(stats, 'whal'), 'an unseen stem weighs most');
});

test('a fluent sentence passes the gate', () => {
  const f = fluencyGate('The old man was glad to see the sea.', stats);
  assert.equal(f.known, 1);
  assert.equal(f.repetition, 1);
  assert.equal(f.plausibility, 1);
  assert.equal(f.fluency, 1);
});

test('unknown words, odd tokens and gibberish close the gate', () => {
  assert.equal(fluencyGate('xq zzkp plorf wub', stats).fluency, 0);
  const odd = fluencyGate('the sea :) :) !!! $$$ ###', stats);
  assert.ok(odd.known < 0.5, `emoticons and symbols count as unknown, got ${odd.known}`);
  assert.ok(
    fluencyGate('The old man was HAPPY.', stats).known < fluencyGate('The old man was happy.', stats).known,
    'shouting counts as odd',
  );
});

test('repetition is penalized', () => {
  const f = fluencyGate('happy happy happy happy', stats);
  assert.equal(f.repetition, 0);
  assert.ok(fluencyGate('the sea the sea the sea the sea', stats).repetition < 0.3);
});

test('word salad of known words is less plausible than the sentence it came from', () => {
  const fluent = fluencyGate('The men went down to the boat and the sea was calm.', stats);
  const salad = fluencyGate('boat calm down the men sea to went was the and the.', stats);
  assert.equal(fluent.plausibility, 1);
  assert.ok(salad.plausibility < 0.5, `got ${salad.plausibility}`);
  assert.ok(salad.fluency < fluent.fluency);
});

test('the previous word and a context text are taken into account', () => {
  // "sea" after "the" is a seen pair; after "rowed" it is not.
  const a = fluencyGate('sea was calm', stats, { previousWord: 'the' });
  const b = fluencyGate('sea was calm', stats, { previousWord: 'whale' });
  assert.ok(a.plausibility >= b.plausibility);
  const novel = 'Queequeg harpooned Tashtego';
  assert.ok(
    fluencyGate(novel, stats).fluency <
      fluencyGate(novel, stats, { context: countText(`Then ${novel} twice.`) }).fluency,
  );
});

test('the length ramp', () => {
  const length = { min: 4, max: 8, slack: 4 };
  assert.equal(fluencyGate('The sea was calm.', stats, { length }).length, 1);
  assert.equal(fluencyGate('The sea.', stats, { length }).length, 0.5);
  assert.equal(fluencyGate('The old man went down to the sea and the sky was clear.', stats, { length }).length, 0);
});

test('defined on any string: empty, whitespace, symbols and control characters give finite values', () => {
  for (const s of ['', '   ', '\u0000', '!!!', '\n\n', 'a'.repeat(5000), '__proto__ constructor']) {
    const f = fluencyGate(s, stats, { length: { min: 1, max: 5, slack: 5 }, previousWord: '' });
    for (const [k, v] of Object.entries(f))
      assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `${JSON.stringify(s)}: ${k} = ${v}`);
  }
  assert.equal(fluencyGate('', stats).fluency, 0);
});
