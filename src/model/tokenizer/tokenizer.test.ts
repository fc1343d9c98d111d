import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { Tokenizer } from './tokenizer.js';

const CORPUS = [
  'The cat sat on the mat. The dog sat on the log.',
  "It's a truth universally acknowledged, that a single man in possession of a good fortune...",
  'def train(model, data):\n    for x, y in data:\n        loss = model(x, y)\n',
  'naïve café 日本語 🤖 emoji 👍🏽 1234 5678',
];
const tok = Tokenizer.train(CORPUS, { vocabSize: 400 });
const dir = mkdtempSync(join(tmpdir(), 'rlhf-tokenizer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Json = { model: { merges: unknown[]; vocab: Record<string, number> }; added_tokens: unknown[] } & Record<
  string,
  unknown
>;
const json = () => JSON.parse(JSON.stringify(tok.toJSON())) as Json;

test('encode/decode round-trips any well-formed string', () => {
  const samples = [
    ...CORPUS,
    '',
    ' ',
    '\n\n\n',
    '\u0000\u0001\u007f',
    '\uFEFFstarts with a BOM',
    'ends with a BOM\uFEFF',
    '👨‍👩‍👧‍👦🇫🇷',
    '\u{10FFFF}\u{1F600}',
    'mixed\r\n\ttabs  and   spaces  ',
    'Ωmega ﬁ ǅ',
  ];
  for (const s of samples) assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
});

test('decode never throws: bad UTF-8 and unknown ids become U+FFFD', () => {
  const ids = tok.encode('🤖');
  assert.ok(ids.length > 1, 'the emoji should span several byte tokens here');
  assert.equal(tok.decode(ids.slice(0, 1)), '\uFFFD');
  assert.equal(tok.decode([...tok.encode('a'), 999_999, -1, 1.5]), 'a\uFFFD\uFFFD\uFFFD');
  assert.equal(tok.decode(new Int32Array(tok.encode('typed arrays'))), 'typed arrays');
});

test('special tokens: one id with allowSpecial, plain text by default', () => {
  const text = 'first<|endoftext|>second';
  const withSpecial = tok.encode(text, { allowSpecial: true });
  assert.equal(withSpecial.filter((id) => id === tok.eosId).length, 1);
  assert.equal(tok.decode(withSpecial), text);
  assert.ok(!tok.encode(text).includes(tok.eosId));
  assert.equal(tok.decode(tok.encode(text)), text);
  assert.deepEqual(tok.encode('<|endoftext|><|endoftext|>', { allowSpecial: true }), [tok.eosId, tok.eosId]);
  assert.equal(tok.decode([tok.eosId]), '<|endoftext|>');
  assert.equal(tok.idToToken(tok.eosId), '<|endoftext|>');
});

test('save -> load gives the same ids; save is atomic and accepts a directory', () => {
  const file = join(dir, 'nested', 'tokenizer.json');
  tok.save(file);
  assert.deepEqual(readdirSync(join(dir, 'nested')), ['tokenizer.json'], 'no temp file left behind');
  for (const load of [() => Tokenizer.load(file), () => Tokenizer.load(join(dir, 'nested'))]) {
    const t = load();
    for (const s of CORPUS)
      assert.deepEqual(t.encode(s, { allowSpecial: true }), tok.encode(s, { allowSpecial: true }));
    assert.equal(t.vocabSize, tok.vocabSize);
    assert.equal(t.eosId, tok.eosId);
    assert.deepEqual(t.toJSON(), tok.toJSON());
  }
  const other = join(dir, 'as-dir');
  mkdirSync(other);
  tok.save(other);
  assert.ok(existsSync(join(other, 'tokenizer.json')));
});

test('the saved file has the shape Hugging Face tokenizers reads', () => {
  const file = join(dir, 'shape.json');
  tok.save(file);
  const j = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(j.version, '1.0');
  assert.equal(j.model.type, 'BPE');
  assert.equal(j.pre_tokenizer.type, 'ByteLevel');
  assert.equal(j.pre_tokenizer.add_prefix_space, false);
  assert.equal(j.decoder.type, 'ByteLevel');
  assert.deepEqual(j.added_tokens[0], {
    id: 0,
    content: '<|endoftext|>',
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  assert.equal(j.model.vocab['<|endoftext|>'], 0);
  assert.equal(Object.keys(j.model.vocab).length, tok.vocabSize);
  assert.ok(j.model.merges.every((m: unknown) => typeof m === 'string' && m.split(' ').length === 2));
});

test('both merges forms load: "a b" strings and [a, b] arrays', () => {
  const j = json();
  j.model.merges = (j.model.merges as string[]).map((m) => m.split(' '));
  const t = Tokenizer.fromTokenizerJson(j);
  for (const s of CORPUS) assert.deepEqual(t.encode(s), tok.encode(s));
  assert.deepEqual(t.toJSON(), tok.toJSON());
});

test('added tokens outside model.vocab and missing optional fields are accepted', () => {
  const j = json();
  delete j.model.vocab['<|endoftext|>'];
  delete j.decoder;
  delete j.normalizer;
  (j.model as Record<string, unknown>).continuing_subword_prefix = '';
  const t = Tokenizer.fromTokenizerJson(j);
  assert.equal(t.eosId, 0);
  assert.deepEqual(t.encode('a<|endoftext|>', { allowSpecial: true }).at(-1), 0);
});

test('malformed tokenizer.json: errors name the file and the field', () => {
  const bad = (edit: (j: Json) => void, pattern: RegExp) => {
    const j = json();
    edit(j);
    assert.throws(() => Tokenizer.fromTokenizerJson(j, 'my/tokenizer.json'), pattern);
  };
  bad((j) => (j.model.merges[3] = 'abc'), /^Error: my\/tokenizer\.json: model\.merges\[3\] is not a pair: got "abc"/);
  bad((j) => (j.model.merges[4] = ['a', 'b', 'c']), /model\.merges\[4\] is not a pair/);
  bad((j) => (j.model.merges[5] = 'a zzzz'), /model\.merges\[5\]: token "zzzz" is not in model\.vocab/);
  bad(
    (j) => delete j.model.vocab[(j.model.merges[0] as string).replace(' ', '')],
    /model\.merges\[0\]: merged token .* is not in model\.vocab/,
  );
  bad((j) => (j.model.vocab.x = -3), /model\.vocab\["x"\] must be an integer id/);
  bad((j) => (j.model.vocab.x = j.model.vocab.y), /model\.vocab: id \d+ is used by both "x" and "y"/);
  bad((j) => delete j.model.vocab.Ā, /no token for byte 0x00 \("Ā"\)/);
  bad((j) => ((j.model as Record<string, unknown>).type = 'WordPiece'), /model\.type is "WordPiece"; only "BPE"/);
  bad((j) => (j.model.merges = 'nope' as never), /model\.merges must be an array/);
  bad((j) => (j.pre_tokenizer = { type: 'Wordz' }), /pre_tokenizer\.type is "Wordz"; the supported types are /);
  bad(
    (j) => (j.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFC' }, {}] }),
    /my\/tokenizer\.json: normalizer\.normalizers\[1\]\.type is undefined/,
  );
  bad((j) => (j.decoder = { type: 'Sequence' }), /decoder\.decoders must be an array/);
  bad((j) => (j.added_tokens = [{ id: 'zero', content: 'x' }]), /added_tokens\[0\]\.id must be an integer id/);
  bad((j) => (j.added_tokens = [{ id: 5, content: '<|endoftext|>' }]), /has id 5 here but 0 in model\.vocab/);
  bad(
    (j) => (j.added_tokens = [{ id: 5, content: '<|new|>' }]),
    /special token "<\|new\|>" has id 5, which model\.vocab gives to/,
  );
  bad((j) => {
    j.added_tokens = [];
    delete j.model.vocab['<|endoftext|>'];
  }, /no "<\|endoftext\|>" and no special tokens.*add \{"id"/);
  assert.throws(() => Tokenizer.fromTokenizerJson([], 'x.json'), /x\.json: expected a JSON object/);
});

test('load: missing paths, bad JSON and empty directories give clear errors', () => {
  assert.throws(() => Tokenizer.load(join(dir, 'nope.json')), /nope\.json does not exist/);
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{"model": ');
  assert.throws(() => Tokenizer.load(broken), /broken\.json: not valid JSON/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  assert.throws(() => Tokenizer.load(empty), /has neither tokenizer\.json nor encoder\.json \+ vocab\.bpe/);
});

test('GPT-2 files: a bad vocab.bpe line names the file and line', () => {
  const enc = join(dir, 'encoder.json');
  const vocab: Record<string, number> = {};
  for (let i = 0; i < 256; i++) vocab[tok.idToToken(i + 1)!] = i;
  vocab.ab = 256;
  writeFileSync(enc, JSON.stringify(vocab));
  const bpe = join(dir, 'vocab.bpe');
  writeFileSync(bpe, '#version: 0.2\na b\nab\n');
  assert.throws(
    () => Tokenizer.fromGPT2Files(enc, bpe),
    /vocab\.bpe:3: expected two tokens separated by one space, got "ab"/,
  );
  writeFileSync(bpe, '#version: 0.2\na b\n');
  assert.throws(() => Tokenizer.fromGPT2Files(enc, bpe), /encoder\.json: no "<\|endoftext\|>"/);
  vocab['<|endoftext|>'] = 257;
  writeFileSync(enc, JSON.stringify(vocab));
  const t = Tokenizer.fromGPT2Files(enc, bpe);
  assert.deepEqual(t.encode('ab'), [256]);
  assert.equal(t.eosId, 257);
});

test('other configurations load on the encoder that runs them exactly, with Hugging Face ids', () => {
  const variants: [string, (j: Json) => void, string, string][] = [
    [
      'a Whitespace pre-tokenizer',
      (j) => (j.pre_tokenizer = { type: 'Whitespace' }),
      'The cat, the mat',
      'huggingface',
    ],
    [
      'add_prefix_space',
      (j) => (j.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: true }),
      'cat',
      'huggingface',
    ],
    ['an NFC normalizer', (j) => (j.normalizer = { type: 'NFC' }), 'cafe\u0301 cat', 'bpe'],
    [
      'digits split before ByteLevel',
      (j) =>
        (j.pre_tokenizer = {
          type: 'Sequence',
          pretokenizers: [{ type: 'Digits', individual_digits: true }, j.pre_tokenizer],
        }),
      'in 1234 years',
      'bpe',
    ],
  ];
  for (const [what, edit, text, backend] of variants) {
    const j = json();
    edit(j);
    const t = Tokenizer.fromTokenizerJson(j);
    assert.equal(t.backend, backend, what);
    assert.deepEqual(t.encode(text), new HFTokenizer(j, {}).encode(text).ids, what);
    assert.deepEqual(t.toJSON(), j, `${what}: saved as read`);
    assert.equal(t.eosId, tok.eosId);
  }
  assert.equal(tok.backend, 'bpe');
});

test('the per-word cache does not change results', () => {
  const fresh = Tokenizer.fromTokenizerJson(tok.toJSON());
  const text = CORPUS.join(' ');
  const first = fresh.encode(text);
  assert.deepEqual(fresh.encode(text), first);
  assert.deepEqual(first, tok.encode(text));
});
