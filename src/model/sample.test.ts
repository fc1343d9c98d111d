import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import { presetConfig } from './config.js';
import { GPT } from './gpt.js';
import { KVCache } from './kv-cache.js';
import { decodeStep, pickToken, prefill, sampleSequences } from './sample.js';

const config = presetConfig('tiny', { vocabSize: 50, nPositions: 24 });
const model = new GPT(config, 3);

function fullLogitsAtEnd(seq: number[], m = model): Float32Array {
  const g = Graph.inference();
  const logits = m.forward(g, Int32Array.from(seq), 1, seq.length);
  const V = m.config.vocabSize;
  const out = Float32Array.from(logits.data.subarray((seq.length - 1) * V, seq.length * V));
  g.dispose();
  return out;
}

function argmax(xs: Float32Array): number {
  let best = 0;
  for (let j = 1; j < xs.length; j++) if (xs[j] > xs[best]) best = j;
  return best;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, what);
  for (let j = 0; j < want.length; j++)
    assert.ok(Math.abs(got[j] - want[j]) < tol, `${what}[${j}]: ${got[j]} vs ${want[j]}`);
}

describe('KV-cache sampling', () => {
  it('the KV-cache path gives the same logits as the full forward, for ragged prompts', () => {
    const prompts = [[1, 2, 3], [4], [5, 6, 7], [8, 9, 10, 11, 12]];
    const cache = KVCache.forModel(config, prompts.length);
    const rows = prompts.map((_, i) => i);
    const V = config.vocabSize;
    let logits = prefill(model, cache, prompts, rows);
    const seqs = prompts.map((p) => [...p]);
    const rng = new RNG(1);
    for (let step = 0; step < 6; step++) {
      seqs.forEach((s, i) =>
        assertClose(logits.subarray(i * V, (i + 1) * V), fullLogitsAtEnd(s), `step ${step} row ${i}`),
      );
      // Rows 0..2 continue; row 3 has stopped: the batch shrinks like in sampleSequences().
      const active = step < 3 ? rows : rows.slice(0, 3);
      const toks = active.map(() => rng.int(V));
      active.forEach((r, i) => seqs[r].push(toks[i]));
      const next = decodeStep(model, cache, active, toks);
      logits = new Float32Array(prompts.length * V);
      active.forEach((r, i) => logits.set(next.subarray(i * V, (i + 1) * V), r * V));
      if (step >= 3) seqs.length = 3;
    }
  });

  it('rows of 5, 13 and 37 tokens decoded together match the full forward, in a 61-token context', () => {
    // Nothing here is a power of two or a multiple of the SIMD width: vocabulary, context, prompts.
    const cfg = presetConfig('tiny', { vocabSize: 53, nPositions: 61, nEmbd: 36, nHead: 3 });
    const m = new GPT(cfg, 7);
    const rng = new RNG(4);
    const prompts = [5, 13, 37].map((n) => Array.from({ length: n }, () => rng.int(cfg.vocabSize)));
    const V = cfg.vocabSize;
    const cache = KVCache.forModel(cfg, prompts.length);
    const rows = [0, 1, 2];
    let logits = prefill(m, cache, prompts, rows);
    const seqs = prompts.map((p) => [...p]);
    // Row 2 reaches the end of the context (37 + 24 = 61) on the last step.
    for (let step = 0; step < 24; step++) {
      seqs.forEach((s, i) =>
        assertClose(logits.subarray(i * V, (i + 1) * V), fullLogitsAtEnd(s, m), `step ${step} row ${i}`),
      );
      const toks = rows.map((_, i) => argmax(logits.subarray(i * V, (i + 1) * V)));
      toks.forEach((t, i) => seqs[i].push(t));
      if (step < 23) logits = decodeStep(m, cache, rows, toks);
    }
    assert.deepEqual(Array.from(cache.len), [5 + 23, 13 + 23, 37 + 23]);

    // sampleSequences() at temperature 0 gives the same tokens: the argmax of the full forward at every step.
    const greedy = sampleSequences(m, prompts, { maxNewTokens: 30, temperature: 0 });
    greedy.forEach((r, i) => {
      const seq = [...prompts[i]];
      for (const tok of r.tokens) {
        assert.equal(tok, argmax(fullLogitsAtEnd(seq, m)), `row ${i} token ${seq.length - prompts[i].length}`);
        seq.push(tok);
      }
    });
    assert.deepEqual(
      greedy.map((r) => [r.tokens.length, r.finishReason]),
      [
        [30, 'length'],
        [30, 'length'],
        [61 - 37 + 1, 'context'],
      ],
    );
  });

  it('a prompt fed in chunks through the cache gives the logits of the whole prompt', () => {
    const cfg = presetConfig('tiny', { vocabSize: 53, nPositions: 61, nEmbd: 36, nHead: 3 });
    const m = new GPT(cfg, 8);
    const seq = Array.from({ length: 29 }, (_, i) => (i * 7 + 3) % cfg.vocabSize);
    const cache = KVCache.forModel(cfg, 2);
    // Row 1 takes 11, then 9, then 9 tokens; row 0 stays empty.
    prefill(m, cache, [seq.slice(0, 11)], [1]);
    prefill(m, cache, [seq.slice(11, 20)], [1]);
    const got = prefill(m, cache, [seq.slice(20)], [1]);
    assertClose(got, fullLogitsAtEnd(seq, m), 'chunked prefill');
    assert.deepEqual(Array.from(cache.len), [0, 29]);
    assert.throws(
      () => prefill(m, cache, [seq.concat(seq.slice(0, 4))], [1]),
      /prompt 0 has 33 tokens but the model's context is 61 and 29 positions of cache row 1 are taken/,
    );
    assert.throws(() => decodeStep(m, cache, [3], [1]), /cache row 3 .* outside the cache's 2 rows/);
  });

  it('the same seed gives the same samples; greedy equals top-k 1', () => {
    const prompts = [[1, 2], [3]];
    const a = sampleSequences(model, prompts, { maxNewTokens: 8, seed: 11 });
    const b = sampleSequences(model, prompts, { maxNewTokens: 8, seed: 11 });
    assert.deepEqual(a, b);
    const greedy = sampleSequences(model, prompts, { maxNewTokens: 8, temperature: 0 });
    const top1 = sampleSequences(model, prompts, { maxNewTokens: 8, topK: 1, seed: 5 });
    assert.deepEqual(
      greedy.map((r) => r.tokens),
      top1.map((r) => r.tokens),
    );
    assert.ok(a.every((r) => r.tokens.length === 8 && r.finishReason === 'length'));
  });

  it('stops at a stop token (included) and at the end of the context', () => {
    const greedy = sampleSequences(model, [[1, 2]], { maxNewTokens: 8, temperature: 0 })[0].tokens;
    const stopAt = greedy[2];
    const r = sampleSequences(model, [[1, 2]], { maxNewTokens: 8, temperature: 0, stopTokens: [stopAt] })[0];
    assert.equal(r.finishReason, 'stop');
    assert.equal(r.tokens[r.tokens.length - 1], stopAt);
    assert.ok(r.tokens.length <= 3);
    const long = sampleSequences(model, [Array.from({ length: 20 }, (_, i) => i + 1)], {
      maxNewTokens: 50,
      seed: 1,
    })[0];
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
    assert.throws(() => sampleSequences(model, [[1]], { maxNewTokens: 2, topP: 0 }), /topP/);
    assert.throws(() => sampleSequences(model, [[1]], { maxNewTokens: -1 }), /maxNewTokens/);
    assert.throws(() => sampleSequences(model, [[]], { maxNewTokens: 1 }), /prompt 0 is empty/);
  });
});
