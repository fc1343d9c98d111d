import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { LocalGenerator, chunkSeed, encodePrompt, planChunks } from './generator.js';

const tok = Tokenizer.train(['the cat sat on the mat. a dog ran. ab ba abc cab'], { vocabSize: 270 });
const model = createModel(presetConfig('tiny', { vocabSize: 272, nPositions: 32, eosTokenId: tok.eosId }), 5);

/** Every (request, sample) exactly once, no request twice in a chunk, counts and offsets consistent. */
function checkPlan(ns: number[], limits: Parameters<typeof planChunks>[1]) {
  const chunks = planChunks(ns, limits);
  const seen = ns.map((n) => new Array(n).fill(0));
  let offset = 0;
  for (const c of chunks) {
    assert.equal(c.offset, offset);
    assert.ok(c.parts.length * c.n <= limits.batchSize, 'chunk within batchSize');
    assert.ok(c.n <= (limits.maxN ?? Infinity));
    assert.equal(new Set(c.parts.map((p) => p.request)).size, c.parts.length, 'a request at most once per chunk');
    for (const p of c.parts) for (let j = 0; j < c.n; j++) seen[p.request][p.first + j]++;
    offset += c.parts.length * c.n;
  }
  assert.ok(
    seen.every((s) => s.every((x) => x === 1)),
    'every sample planned once',
  );
  return chunks;
}

describe('planChunks', () => {
  it('packs whole prompts into batches, with offsets that give each chunk its seed', () => {
    const c = checkPlan([8, 8, 8, 8, 8], { batchSize: 32 });
    assert.deepEqual(
      c.map((x) => [x.parts.map((p) => p.request), x.n, x.offset]),
      [
        [[0, 1, 2, 3], 8, 0],
        [[4], 8, 32],
      ],
    );
    // n = 1 reproduces plain batches of batchSize prompts (the seeds of the earlier `rlhf sample`).
    assert.deepEqual(
      planChunks([1, 1, 1, 1, 1], { batchSize: 2 }).map((x) => x.offset),
      [0, 2, 4],
    );
  });

  it('splits large n into rounds, and with maxN = 1 never puts a prompt twice in a request', () => {
    checkPlan([70, 3], { batchSize: 32 });
    const one = checkPlan([3, 2, 3], { batchSize: 8, maxN: 1 });
    assert.ok(one.every((c) => c.n === 1));
    assert.deepEqual(
      one.map((c) => c.parts.map((p) => p.request)),
      [
        [0, 1, 2],
        [0, 1, 2],
        [0, 2],
      ],
    );
    checkPlan([5, 5, 1, 9], { batchSize: 6, maxN: 2, maxPrompts: 2 });
    // The same prompt in two requests (best-of-N with -n 2) never shares a request either.
    const keyed = planChunks([2, 2, 2], { batchSize: 8 }, ['x', 'x', 'y']);
    assert.deepEqual(
      keyed.map((c) => c.parts.map((p) => p.request)),
      [[0], [1, 2]],
    );
    assert.throws(() => planChunks([1], { batchSize: 0 }), /batchSize must be a positive integer/);
  });
});

describe('LocalGenerator', () => {
  const gen = new LocalGenerator(model, tok, { batchSize: 4 });

  it('gives n completions per request, the same for the same seed, and differs across seeds', async () => {
    const reqs = [
      { prompt: 'the cat', n: 3 },
      { prompt: '', n: 2 },
    ];
    const a = await gen.generate(reqs, { maxNewTokens: 6, temperature: 1, seed: 7 });
    const b = await gen.generate(reqs, { maxNewTokens: 6, temperature: 1, seed: 7 });
    const c = await gen.generate(reqs, { maxNewTokens: 6, temperature: 1, seed: 8 });
    assert.deepEqual(
      a.map((r) => r.completions.length),
      [3, 2],
    );
    assert.equal(a[0].prompt, 'the cat');
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((r) => r.completions.map((x) => x.text)),
      c.map((r) => r.completions.map((x) => x.text)),
    );
    for (const r of a) {
      for (const x of r.completions) {
        assert.ok(x.tokens! <= 6 && x.tokenIds!.length === x.tokens);
        assert.ok(['stop', 'length', 'context'].includes(x.finishReason));
        const body = x.finishReason === 'stop' ? x.tokenIds!.slice(0, -1) : x.tokenIds!;
        assert.equal(x.text, tok.decode(body));
      }
    }
  });

  it('cuts a completion at a stop text of several tokens, leaving the text out', async () => {
    const reqs = [{ prompt: 'a', n: 4 }];
    const plain = await gen.generate(reqs, { maxNewTokens: 12, temperature: 1.5, seed: 3 });
    const long = plain[0].completions.find((c) => c.text.length >= 4)!;
    assert.ok(long, 'some completion has 4 characters');
    const stop = long.text.slice(2, 4);
    const cut = await gen.generate(reqs, { maxNewTokens: 12, temperature: 1.5, seed: 3, stop: [stop] });
    plain[0].completions.forEach((p, j) => {
      const c = cut[0].completions[j];
      const at = p.text.indexOf(stop);
      if (at < 0) return assert.deepEqual(c, p);
      assert.equal(c.text, p.text.slice(0, at));
      assert.equal(c.finishReason, 'stop');
      assert.ok(tok.decode(c.tokenIds!).includes(stop) && !tok.decode(c.tokenIds!.slice(0, -1)).includes(stop));
    });
  });

  it("stops at every end-of-sequence id of the model's config (Llama 3's eos_token_id is a list)", async () => {
    const llama = (eosTokenIds: number[]) =>
      createModel(
        {
          family: 'llama',
          vocabSize: 272,
          nPositions: 32,
          nEmbd: 32,
          nHead: 4,
          nKvHead: 2,
          nLayer: 1,
          intermediateSize: 48,
          layerNormEps: 1e-6,
          eosTokenId: eosTokenIds[0],
          eosTokenIds,
        },
        2,
      );
    const opts = { maxNewTokens: 8, temperature: 1.5, seed: 4 };
    const [plain] = await new LocalGenerator(llama([tok.eosId]), tok).generate([{ prompt: 'a', n: 1 }], opts);
    const ids = plain.completions[0].tokenIds!;
    const k = ids.findIndex((id, i) => i > 0 && id !== tok.eosId && !ids.slice(0, i).includes(id));
    assert.ok(k > 0, `a second, new token among ${ids}`);
    const [cut] = await new LocalGenerator(llama([tok.eosId, ids[k]]), tok).generate([{ prompt: 'a', n: 1 }], opts);
    assert.deepEqual(cut.completions[0].tokenIds, ids.slice(0, k + 1));
    assert.equal(cut.completions[0].finishReason, 'stop');
    assert.equal(cut.completions[0].text, tok.decode(ids.slice(0, k)));
  });

  it('returns the log-probabilities of the sampled tokens, as completionLogProbs computes them', async () => {
    const [r] = await gen.generate([{ prompt: 'the dog', n: 3 }], {
      maxNewTokens: 5,
      temperature: 0.8,
      seed: 1,
      logprobs: true,
    });
    const ref = completionLogProbs(
      model,
      r.completions.map((c) => ({ prompt: encodePrompt(tok, 'the dog'), completion: c.tokenIds! })),
      tok.eosId,
    );
    r.completions.forEach((c, j) => assert.deepEqual(c.logprobs, ref[j]));
  });

  it('rejects bad requests and options by name, and prompts longer than the context', async () => {
    await assert.rejects(
      gen.generate([{ prompt: 'x', n: 0 }], { maxNewTokens: 2, temperature: 1 }),
      /requests\[0\]\.n must be a positive integer/,
    );
    await assert.rejects(
      gen.generate([{ prompt: 'x', n: 1 }], { maxNewTokens: 2, temperature: -1 }),
      /temperature must be a number ≥ 0/,
    );
    await assert.rejects(
      gen.generate([{ prompt: 'x', n: 1 }], { maxNewTokens: 2, temperature: 1, stop: [''] }),
      /stop\[0\] must be a non-empty string/,
    );
    await assert.rejects(
      gen.generate([{ prompt: 'the cat sat '.repeat(20), n: 1 }], { maxNewTokens: 2, temperature: 1 }),
      /prompt 0 .* tokens but the model's context is 32/,
    );
  });

  it('chunk seeds are the seed plus the chunk offset', () => {
    assert.equal(chunkSeed(5, 32), 37);
    assert.equal(chunkSeed(2 ** 32 - 1, 1), 0);
  });
});
