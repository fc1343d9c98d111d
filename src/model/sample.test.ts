import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import { presetConfig } from './config.js';
import { GPT } from './gpt.js';
import { KVCache, decodeStep, generate, pickToken, prefill } from './sample.js';

const config = presetConfig('tiny', { vocabSize: 50, nPositions: 24 });
const model = new GPT(config, 3);

function fullLogitsAtEnd(seq: number[]): Float32Array {
  const g = Graph.inference();
  const logits = model.forward(g, Int32Array.from(seq), 1, seq.length);
  const V = config.vocabSize;
  const out = Float32Array.from(logits.data.subarray((seq.length - 1) * V, seq.length * V));
  g.dispose();
  return out;
}

describe('KV-cache sampling', () => {
  it('the KV-cache path gives the same logits as the full forward, for ragged prompts', () => {
    const prompts = [[1, 2, 3], [4], [5, 6, 7], [8, 9, 10, 11, 12]];
    const cache = new KVCache(prompts.length, config.nPositions, config.nEmbd, config.nLayer);
    const rows = prompts.map((_, i) => i);
    const V = config.vocabSize;
    let logits = prefill(model, cache, prompts, rows);
    const seqs = prompts.map((p) => [...p]);
    const rng = new RNG(1);
    for (let step = 0; step < 6; step++) {
      seqs.forEach((s, i) => {
        const want = fullLogitsAtEnd(s);
        for (let j = 0; j < V; j++)
          assert.ok(Math.abs(logits[i * V + j] - want[j]) < 1e-4, `step ${step} row ${i} logit ${j}`);
      });
      // Rows 0..2 continue; row 3 has stopped: the batch shrinks like in generate().
      const active = step < 3 ? rows : rows.slice(0, 3);
      const toks = active.map(() => rng.int(V));
      active.forEach((r, i) => seqs[r].push(toks[i]));
      const next = decodeStep(model, cache, active, toks);
      logits = new Float32Array(prompts.length * V);
      active.forEach((r, i) => logits.set(next.subarray(i * V, (i + 1) * V), r * V));
      if (step >= 3) seqs.length = 3;
    }
  });

  it('the same seed gives the same samples; greedy equals top-k 1', () => {
    const prompts = [[1, 2], [3]];
    const a = generate(model, prompts, { maxNewTokens: 8, seed: 11 });
    const b = generate(model, prompts, { maxNewTokens: 8, seed: 11 });
    assert.deepEqual(a, b);
    const greedy = generate(model, prompts, { maxNewTokens: 8, temperature: 0 });
    const top1 = generate(model, prompts, { maxNewTokens: 8, topK: 1, seed: 5 });
    assert.deepEqual(
      greedy.map((r) => r.tokens),
      top1.map((r) => r.tokens),
    );
    assert.ok(a.every((r) => r.tokens.length === 8 && r.finishReason === 'length'));
  });

  it('stops at a stop token (included) and at the end of the context', () => {
    const greedy = generate(model, [[1, 2]], { maxNewTokens: 8, temperature: 0 })[0].tokens;
    const stopAt = greedy[2];
    const r = generate(model, [[1, 2]], { maxNewTokens: 8, temperature: 0, stopTokens: [stopAt] })[0];
    assert.equal(r.finishReason, 'stop');
    assert.equal(r.tokens[r.tokens.length - 1], stopAt);
    assert.ok(r.tokens.length <= 3);
    const long = generate(model, [Array.from({ length: 20 }, (_, i) => i + 1)], { maxNewTokens: 50, seed: 1 })[0];
    assert.equal(long.finishReason, 'context');
    assert.equal(long.tokens.length, config.nPositions - 20 + 1);
  });

  it('top-p keeps only the nucleus', () => {
    const logits = Float32Array.from([Math.log(0.6), Math.log(0.3), Math.log(0.1)]);
    const rng = new RNG(2);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(pickToken(logits, 0, 3, { maxNewTokens: 1, topP: 0.85 }, rng));
    assert.deepEqual([...seen].sort(), [0, 1]);
  });

  it('rejects bad options with the field name', () => {
    assert.throws(() => generate(model, [[1]], { maxNewTokens: 2, topP: 0 }), /topP/);
    assert.throws(() => generate(model, [[1]], { maxNewTokens: -1 }), /maxNewTokens/);
    assert.throws(() => generate(model, [[]], { maxNewTokens: 1 }), /prompt 0 is empty/);
  });
});
