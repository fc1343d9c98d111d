import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { bestOfN, bestOfNKL } from './best-of-n.js';
import type { GenerationOptions, GenerationRequest, Generator } from './generator.js';

describe('best-of-N', () => {
  it('the analytic KL is log N − (N−1)/N', () => {
    assert.equal(bestOfNKL(1), 0);
    assert.ok(Math.abs(bestOfNKL(4) - (Math.log(4) - 0.75)) < 1e-12);
    assert.throws(() => bestOfNKL(0), /N ≥ 1/);
  });

  it('keeps the highest-reward sample, so its mean reward is at least the mean of all samples', async () => {
    const tok = Tokenizer.train(['aaa bbb ccc ddd eee'], { vocabSize: 260 });
    const model = new GPT(presetConfig('tiny', { vocabSize: 320, eosTokenId: tok.eosId }), 1);
    const reward = (items: { completion: string }[]) => items.map((it) => (it.completion.match(/a/g) ?? []).length);
    const res = await bestOfN(model, tok, ['x', 'y', 'z'], 8, reward, {
      maxNewTokens: 12,
      seed: 3,
      vocabLimit: tok.vocabSize,
    });
    assert.equal(res.length, 3);
    for (const r of res) {
      assert.equal(r.rewards.length, 8);
      assert.equal(r.reward, Math.max(...r.rewards));
      assert.equal(r.reward, (r.completion.match(/a/g) ?? []).length);
    }
    const meanBest = res.reduce((a, r) => a + r.reward, 0) / 3;
    const meanAll = res.reduce((a, r) => a + r.rewards.reduce((x, y) => x + y, 0) / 8, 0) / 3;
    assert.ok(meanBest >= meanAll);
  });

  it('rejects a reward function that returns the wrong number of scores', async () => {
    const tok = Tokenizer.train(['abc'], { vocabSize: 258 });
    const model = new GPT(presetConfig('tiny', { vocabSize: 320, eosTokenId: tok.eosId }), 1);
    await assert.rejects(
      bestOfN(model, tok, ['x'], 2, () => [1], { maxNewTokens: 2 }),
      /returned 1 scores for 2 items/,
    );
  });

  it('scores each sample cut at the stop strings, as evaluation does, even where the generator did not cut it', async () => {
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
  });
});
