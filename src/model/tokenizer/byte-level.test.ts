import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BYTES_BY_CHAR, BYTE_TO_CHAR, charToByte, preTokenize, toByteLevel, utf8Bytes } from './byte-level.js';

test('bytes->unicode table is GPT-2s: a bijection onto printable characters', () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ');
  assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  assert.equal(BYTE_TO_CHAR[0x00], 'Ā');
  assert.equal(BYTE_TO_CHAR[0x41], 'A');
  assert.equal(BYTE_TO_CHAR[0xad], 'Ń'); // soft hyphen, the last unprintable byte: U+0100 + 67
  for (let b = 0; b < 256; b++) assert.equal(charToByte(BYTE_TO_CHAR[b].charCodeAt(0)), b);
  assert.equal(charToByte('€'.charCodeAt(0)), -1);
});

test('byte order by character matches GPT-2 ids 0..255 (! first, then printable ASCII)', () => {
  assert.equal(BYTES_BY_CHAR[0], 0x21);
  assert.equal(BYTES_BY_CHAR[93], 0x7e);
  assert.equal(BYTES_BY_CHAR[188], 0x00); // first remapped byte, GPT-2 id 188 is "Ā"
});

test('utf8Bytes equals TextEncoder, including astral characters and lone surrogates', () => {
  const enc = new TextEncoder();
  for (const s of [
    '',
    'abc',
    'héllo',
    '日本語',
    '🤖👍🏽',
    'a\uD800b',
    '\uDC00',
    'x\uD83D',
    '\u0000\u007f\u0080\u07ff\u0800\uffff',
  ]) {
    assert.deepEqual(utf8Bytes(s), [...enc.encode(s)], JSON.stringify(s));
  }
});

test('pre-tokenization follows GPT-2s regex', () => {
  assert.deepEqual(preTokenize("Hello world, it's 2024!"), ['Hello', ' world', ',', ' it', "'s", ' 2024', '!']);
  // A whitespace run keeps its last space for the next word.
  assert.deepEqual(preTokenize('a   b\n\nc  '), ['a', '  ', ' b', '\n', '\n', 'c', '  ']);
  assert.deepEqual(preTokenize('x\n\n y'), ['x', '\n\n', ' y']);
  assert.deepEqual(preTokenize("we'll they're I'd"), ['we', "'ll", ' they', "'re", ' I', "'d"]);
  assert.deepEqual(preTokenize(''), []);
  assert.equal(preTokenize('x  y 🤖 z').join(''), 'x  y 🤖 z');
});

test('toByteLevel maps each UTF-8 byte to its character', () => {
  assert.equal(toByteLevel(' the'), 'Ġthe');
  assert.equal(toByteLevel('é'), 'Ã©');
});
