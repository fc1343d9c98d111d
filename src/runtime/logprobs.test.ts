import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { presetConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { completionLogProbs } from './logprobs.js';

describe('completion log-probabilities', () => {
  it('equal log-softmax of the full forward at each completion position, for ragged pairs', () => {
    const model = new GPT(presetConfig('tiny', { vocabSize: 30 }), 4);
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
});
