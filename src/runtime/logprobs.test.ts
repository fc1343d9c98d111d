import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { pickToken, samplingProbs } from '../model/sample.js';
import { RNG } from '../engine/rng.js';
import { completionLogProbs } from './logprobs.js';

describe('completion log-probabilities', () => {
  it('equal log-softmax of the full forward at each completion position, for ragged pairs', () => {
    const model = createModel(presetConfig('tiny', { vocabSize: 30 }), 4);
    const pairs = [
      { prompt: [1, 2], completion: [3, 4] },
      { prompt: [5], completion: [6, 7, 8] },
      { prompt: [9, 9, 9], completion: [1] },
    ];
    const got = completionLogProbs(model, pairs, 0);
    pairs.forEach((p, k) => {
      const seq = [...p.prompt, ...p.completion];
      const g = Graph.inference();
      const logits = model.forward(g, Int32Array.from(seq), 1, seq.length).data;
      p.completion.forEach((tok, j) => {
        const pos = p.prompt.length - 1 + j,
          row = Array.from(logits.subarray(pos * 30, pos * 30 + 30));
        const m = Math.max(...row),
          lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
        assert.ok(Math.abs(got[k][j] - (row[tok] - lse)) < 1e-5, `pair ${k} token ${j}`);
      });
      g.dispose();
    });
  });

  it('at temperature 0.7 are the logs of the sampler probabilities; padded ids get none in either', () => {
    // A model vocabulary of 30 padded past a tokenizer of 26: ids 26 … 29 are never sampled.
    const model = createModel(presetConfig('tiny', { vocabSize: 30 }), 5);
    const o = { temperature: 0.7, vocabSize: 26 };
    const pairs = [
      { prompt: [1, 2, 3], completion: [4, 25, 0] },
      { prompt: [7], completion: [28, 5] },
    ];
    const got = completionLogProbs(model, pairs, 0, { ...o, batchSize: 1 });
    pairs.forEach((p, k) => {
      const seq = [...p.prompt, ...p.completion];
      const g = Graph.inference();
      const logits = Float32Array.from(model.forward(g, Int32Array.from(seq), 1, seq.length).data);
      g.dispose();
      p.completion.forEach((tok, j) => {
        const off = (p.prompt.length - 1 + j) * 30;
        // By hand: softmax(logits / 0.7) over ids 0 … 25.
        let z = 0;
        for (let v = 0; v < 26; v++) z += Math.exp(logits[off + v] / 0.7);
        const sampler = samplingProbs(logits, off, 30, { maxNewTokens: 1, ...o });
        if (tok < 26) {
          const byHand = Math.log(Math.exp(logits[off + tok] / 0.7) / z);
          assert.ok(Math.abs(got[k][j] - byHand) < 1e-4, `pair ${k} token ${j}: ${got[k][j]} vs ${byHand}`);
          assert.ok(Math.abs(got[k][j] - Math.log(sampler[tok])) < 1e-4, `pair ${k} token ${j} vs the sampler`);
        } else {
          assert.equal(sampler[tok], 0, `the sampler gives padded id ${tok} no probability`);
          assert.equal(
            Math.exp(got[k][j]),
            0,
            `completionLogProbs gives padded id ${tok} no probability: ${got[k][j]}`,
          );
        }
      });
      // The draws agree: 2,000 picks never land on a padded id.
      const rng = new RNG(k);
      const off = (p.prompt.length - 1) * 30;
      for (let i = 0; i < 2000; i++) assert.ok(pickToken(logits, off, 30, { maxNewTokens: 1, ...o }, rng) < 26);
    });
    // Defaults are temperature 1 over the whole model vocabulary; bad options are named.
    assert.deepEqual(
      completionLogProbs(model, pairs, 0, { temperature: 1, vocabSize: 30 }),
      completionLogProbs(model, pairs, 0),
    );
    assert.throws(() => completionLogProbs(model, pairs, 0, { temperature: 0 }), /temperature must be > 0/);
    assert.throws(() => completionLogProbs(model, pairs, 0, { batchSize: 0 }), /batchSize must be a positive integer/);
    assert.throws(
      () => completionLogProbs(model, pairs, 0, { maxTokens: 1.5 }),
      /maxTokens must be a positive integer/,
    );
  });

  it('are the same whatever the token budget of a forward pass (one pair per pass at the smallest)', () => {
    const model = createModel(presetConfig('tiny', { vocabSize: 30 }), 6);
    const pairs = Array.from({ length: 7 }, (_, k) => ({
      prompt: Array.from({ length: 1 + (k % 3) }, (_, i) => (i + k) % 30),
      completion: Array.from({ length: 2 + k }, (_, i) => (3 * i + k) % 30),
    }));
    const all = completionLogProbs(model, pairs, 0);
    for (const maxTokens of [1, 12, 30]) {
      const got = completionLogProbs(model, pairs, 0, { maxTokens });
      got.forEach((row, k) => row.forEach((x, j) => assert.ok(Math.abs(x - all[k][j]) < 1e-5, `pair ${k} token ${j}`)));
      assert.deepEqual(
        got.map((r) => r.length),
        pairs.map((p) => p.completion.length),
      );
    }
  });
});
