import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isContentWord, normalizeText, splitParagraphs, splitSentences, stem, wordCount, words } from './text.js';

test('splitSentences cuts at . ! ? before a capital, but not after abbreviations or initials', () => {
  assert.deepEqual(splitSentences('Call me Ishmael. Some years ago I went to sea! Did I? Yes.'), [
    'Call me Ishmael.',
    'Some years ago I went to sea!',
    'Did I?',
    'Yes.',
  ]);
  assert.deepEqual(splitSentences('Mr. Starbuck met Capt. Ahab and J. Ross Browne. Then he left.'), [
    'Mr. Starbuck met Capt. Ahab and J. Ross Browne.',
    'Then he left.',
  ]);
  // A question inside a quotation followed by lower case ("asked I") does not end the sentence.
  assert.deepEqual(splitSentences('"What is that?" asked I. "A whale," said he.'), [
    '"What is that?" asked I.',
    '"A whale," said he.',
  ]);
  // Closing quotes stay with their sentence.
  assert.deepEqual(splitSentences('He said "go." She went.'), ['He said "go."', 'She went.']);
  assert.deepEqual(splitSentences(''), []);
});

test('splitParagraphs joins wrapped lines and drops blank blocks', () => {
  assert.deepEqual(splitParagraphs('One line\nwrapped.\n\n\nTwo.\n \n'), ['One line wrapped.', 'Two.']);
});

test('normalizeText straightens quotes and collapses spaces', () => {
  assert.equal(normalizeText('  \u201cIt\u2019s  here\u2026\u201d  '), '"It\'s here..."');
});

test('words lower-cases, keeps contractions whole and splits hyphens and dashes', () => {
  assert.deepEqual(words("Don't go—the sea-captain's BOAT, 42!"), [
    "don't",
    'go',
    'the',
    'sea',
    "captain's",
    'boat',
    '42',
  ]);
  assert.deepEqual(words('  !!! '), []);
  assert.equal(wordCount('  a  b\tc '), 3);
  assert.equal(wordCount(''), 0);
});

test('stem maps inflections of one word together', () => {
  for (const group of [
    ['whale', 'whales', 'whaling', 'whaled'],
    ['run', 'running'],
    ['boat', 'boats'],
    ['story', 'stories'],
    ['box', 'boxes'],
    ['call', 'called', 'calls'],
  ]) {
    const stems = new Set(group.map(stem));
    assert.equal(stems.size, 1, `${group.join(', ')} → ${[...stems].join(', ')}`);
  }
  assert.notEqual(stem('sea'), stem('see'));
  assert.equal(stem('glass'), 'glass');
});

test('content words exclude stopwords and numbers', () => {
  assert.equal(isContentWord('whale'), true);
  assert.equal(isContentWord('the'), false);
  assert.equal(isContentWord("didn't"), false);
  assert.equal(isContentWord('1851'), false);
});
