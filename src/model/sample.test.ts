import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import { presetConfig } from './config.js';
import { createModel } from './create-model.js';
import { KVCache } from './kv-cache.js';
import {
  type SampleOptions,
  StepSampler,
  decodeStep,
  pickToken,
  prefill,
  sampleSequences,
  samplingProbs,
} from './sample.js';

const config = presetConfig('tiny', { vocabSize: 50, nPositions: 24 });
const model = createModel(config, 3);

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
    const m = createModel(cfg, 7);
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
    const m = createModel(cfg, 8);
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

  it('StepSampler: a row ended between steps leaves the others as they were; tokens come from the step logits', () => {
    const prompts = [[1, 2], [3], [4, 5, 6]];
    const whole = sampleSequences(model, prompts, { maxNewTokens: 6, seed: 4 });
    const s = new StepSampler(model, prompts, { maxNewTokens: 6, seed: 4 });
    s.step();
    s.step();
    s.finish(1, 'stop');
    while (!s.done) for (const t of s.step()) assert.notEqual(t.row, 1);
    assert.deepEqual(s.results[1], { tokens: whole[1].tokens.slice(0, 2), finishReason: 'stop' });
    assert.deepEqual([s.results[0], s.results[2]], [whole[0], whole[2]]);
    const V = config.vocabSize;
    const greedy = new StepSampler(model, [[1, 2], [7]], { maxNewTokens: 4, temperature: 0 });
    while (!greedy.done)
      for (const t of greedy.step()) assert.equal(t.token, argmax(greedy.logits.subarray(t.at * V, (t.at + 1) * V)));
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

// ---- the sampled distribution, checked by counting ----

// A fixed row: ids 10 and 11 are padding past a tokenizer of 10 ids, with the largest logits of all,
// so a sampler that ignored the vocabulary would draw them most.
const ROW = Float32Array.from([0.5, 2.0, -0.8, 1.2, -2.0, 0.1, 1.5, -0.3, 0.9, -1.5, 5.0, 4.0]);
const VOCAB = 10;

/** The expected distribution, computed here in float64 from the definitions of temperature, top-k and top-p. */
function expectedProbs(temperature: number, topK = 0, topP = 1): number[] {
  const w = Array.from(ROW, (l, j) => (j < VOCAB ? Math.exp(l / temperature) : 0));
  const z = w.reduce((a, b) => a + b, 0);
  const p = w.map((x) => x / z);
  const order = p.map((_, j) => j).sort((a, b) => p[b] - p[a]);
  let keep = topK > 0 ? topK : VOCAB;
  let cum = 0;
  for (let r = 0; r < keep && topP < 1; r++) {
    cum += p[order[r]];
    if (cum >= topP) keep = r + 1;
  }
  const kept = new Set(order.slice(0, keep));
  const zk = p.reduce((a, x, j) => a + (kept.has(j) ? x : 0), 0);
  return p.map((x, j) => (kept.has(j) ? x / zk : 0));
}

/** χ² critical values at significance 0.001, by degrees of freedom (1 … 9). */
const CHI2_CRITICAL = [NaN, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88];

function chiSquareCheck(o: Omit<SampleOptions, 'maxNewTokens'>, want: number[], seed: number): number {
  const N = 20_000;
  const counts = new Array<number>(ROW.length).fill(0);
  const rng = new RNG(seed);
  const probs = new Float32Array(ROW.length);
  for (let i = 0; i < N; i++) counts[pickToken(ROW, 0, ROW.length, { maxNewTokens: 1, ...o }, rng, probs)]++;
  let chi2 = 0,
    cells = 0;
  want.forEach((p, j) => {
    if (p === 0) assert.equal(counts[j], 0, `id ${j} has probability 0 but was drawn ${counts[j]} times`);
    else {
      chi2 += (counts[j] - N * p) ** 2 / (N * p);
      cells++;
    }
  });
  const critical = CHI2_CRITICAL[cells - 1];
  assert.ok(chi2 < critical, `χ² = ${chi2.toFixed(2)} over ${cells} ids, above ${critical}: counts ${counts}`);
  return chi2;
}

describe('sampled token frequencies match the softmax (χ², 20,000 draws, fixed seed)', () => {
  it('at temperature 0.7, over the tokenizer vocabulary only', () => {
    const want = expectedProbs(0.7);
    chiSquareCheck({ temperature: 0.7, vocabSize: VOCAB }, want, 1);
    // The same counts would not pass for the untempered softmax: the test can tell them apart.
    const rng = new RNG(1);
    const counts = new Array<number>(VOCAB).fill(0);
    for (let i = 0; i < 20_000; i++)
      counts[pickToken(ROW, 0, ROW.length, { maxNewTokens: 1, temperature: 0.7, vocabSize: VOCAB }, rng)]++;
    const t1 = expectedProbs(1);
    const chi2 = counts.reduce((a, c, j) => a + (c - 20_000 * t1[j]) ** 2 / (20_000 * t1[j]), 0);
    assert.ok(chi2 > 10 * CHI2_CRITICAL[VOCAB - 1], `temperature 1 fits too: χ² = ${chi2}`);
  });

  it('with top-k', () => {
    const want = expectedProbs(1.3, 4);
    assert.equal(want.filter((p) => p > 0).length, 4);
    chiSquareCheck({ temperature: 1.3, topK: 4, vocabSize: VOCAB }, want, 2);
  });

  it('with top-p, and with both', () => {
    const nucleus = expectedProbs(0.9, 0, 0.8);
    assert.ok(nucleus.filter((p) => p > 0).length > 2, 'the nucleus keeps several ids');
    chiSquareCheck({ temperature: 0.9, topP: 0.8, vocabSize: VOCAB }, nucleus, 3);
    chiSquareCheck({ temperature: 2, topK: 6, topP: 0.9, vocabSize: VOCAB }, expectedProbs(2, 6, 0.9), 4);
  });

  it('samplingProbs is the distribution drawn from, and gives padded ids exactly 0', () => {
    const got = samplingProbs(ROW, 0, ROW.length, { maxNewTokens: 1, temperature: 0.9, topP: 0.8, vocabSize: VOCAB });
    const want = expectedProbs(0.9, 0, 0.8);
    want.forEach((p, j) => assert.ok(Math.abs(got[j] - p) < 1e-6, `id ${j}: ${got[j]} vs ${p}`));
    assert.equal(got[10], 0);
    assert.equal(got[11], 0);
    // Greedy picks the best id inside the vocabulary, not the padded id 10.
    assert.equal(pickToken(ROW, 0, ROW.length, { maxNewTokens: 1, temperature: 0, vocabSize: VOCAB }, new RNG(0)), 1);
  });
});
