import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GPT2_PATTERN } from './byte-level.js';
import { scanPreTokens } from './pre-tokenize.js';

const byRegex = (s: string) => s.match(GPT2_PATTERN) ?? [];

// Pieces chosen to hit every branch: contractions (and near misses), a space before each class,
// every kind of whitespace, astral letters/numbers/symbols, and lone surrogates.
const PIECES = [
  "'s",
  "'t",
  "'re",
  "'ve",
  "'m",
  "'ll",
  "'d",
  "'",
  "'r",
  "'l",
  "'S",
  "'x",
  'a',
  'Zé',
  'ß',
  '日本',
  'ǅ',
  '\u{1D400}',
  '\u{20000}', // letters, incl. astral ones
  '0',
  '42',
  '½',
  '٣',
  '\u{1D7CE}',
  '\u{10107}', // numbers, incl. astral ones
  '!',
  '?!',
  '-',
  '_',
  '🤖',
  '👍🏽',
  '\u200d',
  '©', // other
  ' ',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '\u00a0',
  '\u3000',
  '\u2028',
  '\ufeff',
  '\u000b',
  '\u000c',
  '\uD800',
  '\uDC00',
  'x\uD83D', // lone surrogates
];

test('the scanner splits exactly like GPT-2s regex on fuzzed text', () => {
  let seed = 2024;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let trial = 0; trial < 5000; trial++) {
    let s = '';
    const n = Math.floor(rand() * 25);
    for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)];
    assert.deepEqual(scanPreTokens(s), byRegex(s), JSON.stringify(s));
  }
});

test('the scanner agrees with the regex on every BMP character next to a space and a letter', () => {
  for (let c = 0; c < 0x10000; c += 1) {
    const ch = String.fromCharCode(c);
    const s = `a${ch}${ch} ${ch}a'${ch} ${ch}`;
    assert.deepEqual(scanPreTokens(s), byRegex(s), `U+${c.toString(16)}`);
  }
});

test('edge cases', () => {
  for (const s of [
    '',
    ' ',
    '  ',
    "'",
    "''s",
    " 's",
    'a ',
    '\n',
    ' \n',
    '\n ',
    'x   ',
    '   x',
    '\t x',
    'x\t\t',
    "I'm",
    "'ll'll",
  ]) {
    assert.deepEqual(scanPreTokens(s), byRegex(s), JSON.stringify(s));
  }
});
