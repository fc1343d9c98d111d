// The @huggingface/tokenizers backend's own contract: what it adds to Hugging Face's encode and decode
// (allowSpecial, addSpecialTokens, decode that never throws), tokenizer_config.json, and errors for broken
// files. Small tokenizers trained here, edited into the shapes real files have, plus Llama 2's real file.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { realTokenizers } from '../../test-support/tokenizer-fixtures.js';
import { Tokenizer } from './tokenizer.js';

const CORPUS = ['The cat sat on the mat. <b>bold</b> The dog sat on the log.', 'naïve café 日本語 🤖 1234'];
const small = Tokenizer.train(CORPUS, { vocabSize: 320, specialTokens: ['<|endoftext|>', '<|im_start|>'] });
type Json = Record<string, unknown> & { added_tokens: Record<string, unknown>[] };
const smallJson = () => JSON.parse(JSON.stringify(small.toJSON())) as Json;
const tmp = mkdtempSync(join(tmpdir(), 'rlhf-hf-backend-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

type Backend = 'bpe' | 'huggingface';
const BACKENDS: Backend[] = ['bpe', 'huggingface'];

/**
 * A trained tokenizer whose post-processor puts <|endoftext|> before every sequence, in a Sequence after
 * ByteLevel as Llama 3.1's does. For 'huggingface' its decoder is wrapped in a Sequence, which decodes the
 * same but which our encoder does not run.
 */
function withBos(backend: Backend = 'bpe'): Json {
  const j = smallJson();
  const template = {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [0], tokens: ['<|endoftext|>'] } },
  };
  j.post_processor = { type: 'Sequence', processors: [j.post_processor, template] };
  if (backend === 'huggingface') j.decoder = { type: 'Sequence', decoders: [j.decoder] };
  return j;
}

for (const backend of BACKENDS) {
  test(`${backend}: addSpecialTokens adds the post-processor's BOS only on request; bosId names it`, () => {
    const t = Tokenizer.fromTokenizerJson(withBos(backend));
    assert.equal(t.backend, backend);
    assert.equal(t.bosId, 0);
    assert.deepEqual(t.encode('the cat'), small.encode('the cat'));
    assert.deepEqual(t.encode('the cat', { addSpecialTokens: true }), [0, ...small.encode('the cat')]);
    assert.deepEqual(t.encode('', { addSpecialTokens: true }), [0]);
    assert.deepEqual(t.encode('<|im_start|>x', { addSpecialTokens: true }), [0, ...small.encode('<|im_start|>x')]);
    const special = small.encode('<|im_start|>x', { allowSpecial: true });
    assert.deepEqual(t.encode('<|im_start|>x', { allowSpecial: true }), special);
    assert.deepEqual(t.encode('<|im_start|>x', { allowSpecial: true, addSpecialTokens: true }), [0, ...special]);
  });

  test(`${backend}: decode never throws: [] is "", unknown ids are U+FFFD, typed arrays work`, () => {
    const t = Tokenizer.fromTokenizerJson(withBos(backend));
    assert.equal(t.backend, backend);
    assert.equal(t.decode([]), '');
    const ids = t.encode('cat 🦄');
    assert.equal(t.decode(new Int32Array(ids)), 'cat 🦄');
    assert.equal(t.decode([...t.encode('a'), 999_999, -1, 1.5, ...t.encode('b')]), 'a\uFFFD\uFFFD\uFFFDb');
    assert.equal(t.decode(ids.slice(0, -1)).at(-1), '\uFFFD', 'a cut emoji');
    assert.equal(t.decode([1, 0]), '<|im_start|><|endoftext|>');
    assert.equal(t.idToToken(999_999), undefined);
  });

  test(`${backend}: added tokens that are not special are matched without allowSpecial (as Qwen's <think>)`, () => {
    const j = smallJson();
    const strip = backend === 'huggingface'; // only @huggingface/tokenizers runs lstrip/rstrip
    const flags = { normalized: false, single_word: false };
    j.added_tokens.push(
      { id: 320, content: '<b>', special: false, lstrip: false, rstrip: strip, ...flags },
      { id: 321, content: '</b>', special: false, lstrip: strip, rstrip: false, ...flags },
    );
    const t = Tokenizer.fromTokenizerJson(j);
    assert.equal(t.backend, backend);
    assert.equal(t.vocabSize, 322);
    assert.deepEqual(t.specialTokens, ['<|endoftext|>', '<|im_start|>']);
    const noSpecials = new HFTokenizer({ ...j, added_tokens: j.added_tokens.filter((a) => !a.special) }, {});
    for (const s of ['a <b> bold </b> z', '<|im_start|><b>x</b><|endoftext|>', '<b>', ' <|im_start|> ']) {
      const ids = t.encode(s);
      assert.deepEqual(ids, noSpecials.encode(s).ids, JSON.stringify(s));
      assert.ok(!ids.includes(0) && !ids.includes(1));
      assert.deepEqual(t.encode(s, { allowSpecial: true }), new HFTokenizer(j, {}).encode(s).ids);
    }
    assert.ok(t.encode('a <b> bold').includes(320));
    assert.equal(t.decode(t.encode('x<b>y')), 'x<b>y');
  });
}

test('tokenizer_config.json: eos_token as a string or {content}, pad_token, model_max_length, raw config kept', () => {
  const dir = join(tmp, 'config');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(withBos()));
  const config = {
    eos_token: { __type: 'AddedToken', content: '<|im_start|>' },
    pad_token: '<|endoftext|>',
    model_max_length: 2048,
    chat_template: '{{ messages }}',
  };
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  const t = Tokenizer.load(dir);
  assert.equal(t.eosId, 1);
  assert.equal(t.padId, 0);
  assert.equal(t.modelMaxLength, 2048);
  assert.deepEqual(t.hfConfig, config);
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ eos_token: '<|im_start|>', model_max_length: 1e30 }),
  );
  assert.equal(Tokenizer.load(dir).modelMaxLength, null);
  // A config beside a tokenizer our encoder runs is read too.
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(smallJson()));
  const own = Tokenizer.load(dir);
  assert.equal(own.backend, 'bpe');
  assert.equal(own.eosId, 1);
  own.save(join(tmp, 'saved'));
  assert.equal(Tokenizer.load(join(tmp, 'saved')).eosId, 1, 'save writes tokenizer_config.json beside');
});

test('broken files: errors name the file and the field', () => {
  const dir = join(tmp, 'broken');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(withBos()));
  const config = join(dir, 'tokenizer_config.json');
  writeFileSync(config, JSON.stringify({ eos_token: '</s>' }));
  assert.throws(
    () => Tokenizer.load(dir),
    /tokenizer_config\.json \(beside .*tokenizer\.json\): eos_token is "<\/s>", which is not a token of/,
  );
  writeFileSync(config, JSON.stringify({ eos_token: 7 }));
  assert.throws(() => Tokenizer.load(dir), /eos_token must be a string or \{"content": string\}, got 7/);
  writeFileSync(config, '{"eos_token": ');
  assert.throws(() => Tokenizer.load(dir), /broken\/tokenizer_config\.json: not valid JSON/);

  const processors = (j: Json) => (j.post_processor as { processors: Record<string, unknown>[] }).processors;
  const j = withBos();
  processors(j)[1].type = 'Templat';
  assert.throws(
    () => Tokenizer.fromTokenizerJson(j, 'x/tokenizer.json'),
    /x\/tokenizer\.json: post_processor\.processors\[1\]\.type is "Templat"; the supported types are /,
  );
  const k = withBos();
  processors(k)[1].single = 'nope';
  assert.throws(
    () => Tokenizer.fromTokenizerJson(k, 'x/tokenizer.json'),
    /x\/tokenizer\.json: @huggingface\/tokenizers cannot load it/,
  );
  for (const backend of BACKENDS) {
    const m = withBos(backend);
    processors(m)[1].single = [{ SpecialToken: { id: '<|nope|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }];
    assert.throws(
      () => Tokenizer.fromTokenizerJson(m, 'x/tokenizer.json'),
      /x\/tokenizer\.json: post_processor adds "<\|nope\|>", which is neither in model\.vocab nor in added_tokens/,
      backend,
    );
  }
});

const llama2Dir = realTokenizers().find((t) => t.name === 'llama2')!.dir;
const llama2 = JSON.parse(readFileSync(join(llama2Dir, 'tokenizer.json'), 'utf8')) as Json;

test('a broken real file: the merge and the file are named', () => {
  const model = llama2.model as { merges: string[] };
  const merges = model.merges.slice();
  merges[5] = '▁t zzzzqq';
  const j = { ...llama2, model: { ...model, merges } };
  assert.throws(
    () => Tokenizer.fromTokenizerJson(j, 'llama2/tokenizer.json'),
    /^Error: llama2\/tokenizer\.json: model\.merges\[5\]: token "zzzzqq" is not in model\.vocab/,
  );
});

test('Metaspace pre-tokenizer files (Mistral v0.3 style) load with Hugging Face ids', () => {
  const j = {
    ...llama2,
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
  };
  const t = Tokenizer.fromTokenizerJson(j);
  assert.equal(t.backend, 'huggingface');
  const ref = new HFTokenizer(j, {});
  for (const s of ['Hello world', ' two  spaces', 'café 日本語 🤖', '<s>[INST] hi [/INST]', 'x</s>y']) {
    assert.deepEqual(t.encode(s, { allowSpecial: true }), ref.encode(s, { add_special_tokens: false }).ids, s);
    assert.deepEqual(t.encode(s, { allowSpecial: true, addSpecialTokens: true }), ref.encode(s).ids, s);
  }
  assert.equal(t.decode(t.encode('Hello world')), 'Hello world');
  assert.equal(t.eosId, 2, 'without tokenizer_config.json, "</s>" ends a sequence');
  assert.equal(t.bosId, 1, "without tokenizer_config.json, the post-processor's first token begins one");
});
