import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { bestOfN, bestOfNKL } from './best-of-n.js';
import type { GenerationOptions, GenerationRequest, Generator } from './generator.js';

describe('best-of-N', () => {
  it('the analytic KL is log N − (N−1)/N', () => {
    assert.equal(bestOfNKL(1), 0);
    assert.ok(Math.abs(bestOfNKL(4) - (Math.log(4) - 0.75)) < 1e-12);
    assert.throws(() => bestOfNKL(0), /N ≥ 1/);
  });

  // A random tiny model over a small byte-level vocabulary; the reward counts the letters a–e, which
  // vary enough between samples for selection to show.
  const tok = Tokenizer.train(['aaa bbb ccc ddd eee'], { vocabSize: 260 });
  const model = createModel(presetConfig('tiny', { vocabSize: 320, eosTokenId: tok.eosId }), 1);
  const letters = (text: string) => (text.match(/[a-e]/g) ?? []).length;
  const opts = { maxNewTokens: 12, seed: 3, vocabSize: tok.vocabSize };
  const prompts = ['x', 'y', 'z', 'u', 'v', 'w', 'x q', 'y q', 'z q', 'u q', 'v q', 'w q'];

  it('keeps a sample of the highest reward among the N of each prompt, and reports all N rewards', async () => {
    const seen: { prompt: string; completion: string }[] = [];
    const reward = (items: { prompt: string; completion: string }[]) => {
      seen.push(...items);
      return items.map((it) => letters(it.completion));
    };
    const res = await bestOfN(model, tok, prompts.slice(0, 3), 8, reward, opts);
    assert.equal(res.length, 3);
    for (const r of res) {
      const samples = seen.filter((s) => s.prompt === r.prompt);
      assert.equal(samples.length, 8);
      assert.deepEqual(
        r.rewards,
        samples.map((s) => letters(s.completion)),
        'the rewards of the N samples, in order',
      );
      const best = Math.max(...r.rewards);
      assert.equal(r.reward, best);
      assert.equal(letters(r.completion), best, 'the kept completion is the one that scored best');
      assert.ok(
        samples.some((s) => s.completion === r.completion),
        'the kept completion is one of the samples',
      );
    }
    assert.ok(
      res.some((r) => new Set(r.rewards).size > 1),
      'the samples differ in reward, so the choice matters',
    );
  });

  it('its mean reward rises with N while the mean of all samples does not', async () => {
    const reward = (items: { completion: string }[]) => items.map((it) => letters(it.completion));
    const stats = [];
    for (const n of [1, 4, 16]) {
      const res = await bestOfN(model, tok, prompts, n, reward, opts);
      const best = res.reduce((a, r) => a + r.reward, 0) / res.length;
      const all = res.reduce((a, r) => a + r.rewards.reduce((x, y) => x + y, 0), 0) / (res.length * n);
      stats.push({ n, best, all });
    }
    const msg = JSON.stringify(stats);
    assert.ok(stats[1].best > stats[0].best + 0.5 && stats[2].best > stats[1].best + 0.5, msg);
    // Selection, not different sampling: best-of-1 is the plain policy, and the samples' mean stays put.
    assert.equal(stats[0].best, stats[0].all);
    assert.ok(Math.abs(stats[2].all - stats[0].all) < 0.5 && stats[2].best > stats[2].all + 1, msg);
  });

  it('rejects a reward function that returns the wrong number of scores', async () => {
    const tok = Tokenizer.train(['abc'], { vocabSize: 258 });
    const model = createModel(presetConfig('tiny', { vocabSize: 320, eosTokenId: tok.eosId }), 1);
    await assert.rejects(
      bestOfN(model, tok, ['x'], 2, () => [1], { maxNewTokens: 2 }),
      /returned 1 scores for 2 items/,
    );
  });

  it(
    'scores each sample cut at the stop strings, as evaluation does, even where the generator did not cut ' + 'it',
    async () => {
      // A server that ignores `stop`: the text after "\n" would win on the raw text, and loses once cut.
      const texts = ['b \naaaa', ' a', 'c'];
      const gen: Generator = {
        name: 'a server that ignores stop',
        async generate(requests: GenerationRequest[], _o: GenerationOptions) {
          return requests.map((r) => ({
            prompt: r.prompt,
            completions: texts.slice(0, r.n).map((text) => ({ text, finishReason: 'length' })),
          }));
        },
      };
      const scored: string[] = [];
      const reward = (items: { completion: string }[]) =>
        items.map((it) => (scored.push(it.completion), (it.completion.match(/a/g) ?? []).length));
      const [r] = await bestOfN(gen, ['x'], 3, reward, { maxNewTokens: 8, temperature: 1, stop: ['\n'] });
      assert.deepEqual(scored, ['b', ' a', 'c']);
      assert.deepEqual(r.rewards, [0, 1, 0]);
      assert.equal(r.completion, ' a');
    },
  );
});
