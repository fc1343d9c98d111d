import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BYTES_BY_CHAR, BYTE_TO_CHAR, preTokenize, utf8Bytes } from './byte-level.js';
import { Tokenizer } from './tokenizer.js';
import { trainBPE, type TrainProgress } from './train.js';

const mergesOf = (t: Tokenizer) => (t.toJSON() as { model: { merges: string[] } }).model.merges;
const repeat = (word: string, n: number) => Array<string>(n).fill(word);

// The Hugging Face course example: hug x10, pug x5, pun x12, bun x4, hugs x5.
// Pair counts: u g = 20, p u = 17, u n = 16, h u = 15, ... so "u g" is merged first; then
// u n (16) beats h ug (15); then h ug (15).
const HUGS = [
  ...repeat('hug', 10),
  ...repeat('pug', 5),
  ...repeat('pun', 12),
  ...repeat('bun', 4),
  ...repeat('hugs', 5),
];

test('training learns the hand-checked first merges', () => {
  const t = Tokenizer.train(HUGS, { vocabSize: 257 + 3 });
  assert.deepEqual(mergesOf(t), ['u g', 'u n', 'h ug']);
  assert.equal(t.vocabSize, 260);
  assert.equal(t.tokenToId('ug'), 257);
  assert.equal(t.tokenToId('un'), 258);
  assert.equal(t.tokenToId('hug'), 259);
  assert.deepEqual(t.encode('hugs'), [259, t.tokenToId('s')]);
  assert.deepEqual(t.encode('bun'), [t.tokenToId('b'), 258]);
});

test('id layout: special tokens, then the 256 bytes in GPT-2 order, then merges', () => {
  const t = Tokenizer.train(HUGS, { vocabSize: 262, specialTokens: ['<|endoftext|>', '<|pad|>'] });
  assert.equal(t.eosId, 0);
  assert.equal(t.tokenToId('<|pad|>'), 1);
  for (let i = 0; i < 256; i++) assert.equal(t.idToToken(2 + i), BYTE_TO_CHAR[BYTES_BY_CHAR[i]]);
  assert.equal(t.idToToken(258), 'ug');
  assert.deepEqual(t.specialTokens, ['<|endoftext|>', '<|pad|>']);
});

test('ties go to the pair with the smaller ids', () => {
  // "c d" and "a b" both occur twice; "a" has the smaller id, so "a b" is first.
  const t = Tokenizer.train(['cd', 'ab', 'cd', 'ab'], { vocabSize: 259 });
  assert.deepEqual(mergesOf(t), ['a b', 'c d']);
});

test('special tokens in the corpus are not learned from', () => {
  const t = Tokenizer.train(repeat('<|endoftext|>', 50), { vocabSize: 300 });
  assert.deepEqual(mergesOf(t), []);
});

test('minFrequency stops training early; a tiny corpus stops when no pairs remain', () => {
  assert.deepEqual(mergesOf(Tokenizer.train(HUGS, { vocabSize: 1000, minFrequency: 12 })), [
    'u g',
    'u n',
    'h ug',
    'p un',
  ]);
  const all = Tokenizer.train(['abc'], { vocabSize: 1000 });
  assert.deepEqual(mergesOf(all), ['a b', 'ab c']);
  assert.equal(all.vocabSize, 259);
});

test('training is deterministic', () => {
  const corpus = randomCorpus(99, 300);
  const a = Tokenizer.train(corpus, { vocabSize: 600 });
  const b = Tokenizer.train(corpus, { vocabSize: 600 });
  assert.deepEqual(a.toJSON(), b.toJSON());
});

test('incremental training equals a naive full-recount trainer', () => {
  for (const seed of [1, 2, 3]) {
    const corpus = randomCorpus(seed, 200);
    const fast = trainBPE(corpus, { vocabSize: 450 });
    const slow = naiveTrain(corpus, 450);
    assert.deepEqual(fast.merges, slow.merges, `seed ${seed}`);
    assert.deepEqual(fast.tokens, slow.tokens, `seed ${seed}`);
  }
});

test('a trained tokenizer round-trips text, including text it never saw', () => {
  const corpus = randomCorpus(5, 200);
  const t = Tokenizer.train(corpus, { vocabSize: 500 });
  for (const s of [...corpus.slice(0, 20), 'unseen: Ωmega 🤖 \u0000 ﬁ', '']) assert.equal(t.decode(t.encode(s)), s);
});

test('onProgress reports counting and merging', () => {
  const seen: TrainProgress[] = [];
  Tokenizer.train(HUGS, { vocabSize: 260, onProgress: (p) => seen.push(p) });
  assert.deepEqual(seen.at(-1), { phase: 'merge', done: 260, total: 260 });
  assert.ok(seen.some((p) => p.phase === 'count' && p.done === HUGS.length));
});

test('bad options name the field', () => {
  assert.throws(() => Tokenizer.train(HUGS, { vocabSize: 100 }), /vocabSize must be an integer >= 257/);
  assert.throws(() => Tokenizer.train(HUGS, { vocabSize: 300, specialTokens: [] }), /specialTokens must not be empty/);
  assert.throws(() => Tokenizer.train(HUGS, { vocabSize: 300, specialTokens: ['x', 'x'] }), /distinct/);
  assert.throws(() => Tokenizer.train(HUGS, { vocabSize: 300, minFrequency: -1 }), /minFrequency/);
  assert.throws(() => Tokenizer.train(HUGS, { vocabSize: 300, specialTokens: ['!'] }), /single byte-level character/);
});

// ---- helpers ----

function randomCorpus(seed: number, n: number): string[] {
  const syllables = ['ab', 'ba', 'aa', 'an', 'the', ' ', '  ', 'é', '🤖', 'x', 'yy', '\n', ',', '1', '22', "'s"];
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, () => {
    let s = '';
    const len = 1 + Math.floor(rand() * 30);
    for (let i = 0; i < len; i++) s += syllables[Math.floor(rand() * syllables.length)];
    return s;
  });
}

/** Textbook BPE: recount every pair after every merge. Same id layout and tie rule as trainBPE. */
function naiveTrain(texts: string[], vocabSize: number) {
  const tokens = ['<|endoftext|>', ...BYTES_BY_CHAR.map((b) => BYTE_TO_CHAR[b])];
  const byteId = new Map(BYTES_BY_CHAR.map((b, i) => [b, i + 1]));
  const words: { ids: number[]; n: number }[] = [];
  const index = new Map<string, number>();
  for (const w of texts.flatMap(preTokenize)) {
    const i = index.get(w);
    if (i === undefined) {
      index.set(w, words.length);
      words.push({ ids: utf8Bytes(w).map((b) => byteId.get(b)!), n: 1 });
    } else words[i].n++;
  }
  const merges: [number, number, number][] = [];
  while (new Set(tokens).size < vocabSize) {
    const counts = new Map<string, number>();
    for (const { ids, n } of words) {
      for (let i = 0; i + 1 < ids.length; i++)
        counts.set(`${ids[i]},${ids[i + 1]}`, (counts.get(`${ids[i]},${ids[i + 1]}`) ?? 0) + n);
    }
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number);
      if (c > bestCount || (c === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (!best) break;
    const [a, b] = best;
    const str = tokens[a] + tokens[b];
    let c = tokens.indexOf(str);
    if (c < 0) c = tokens.push(str) - 1;
    merges.push([a, b, c]);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.ids.length; i++) {
        if (i + 1 < w.ids.length && w.ids[i] === a && w.ids[i + 1] === b) {
          out.push(c);
          i++;
        } else out.push(w.ids[i]);
      }
      w.ids = out;
    }
  }
  return { tokens, merges };
}
