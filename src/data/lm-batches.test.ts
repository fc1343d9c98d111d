import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { batchLength, joinTokens, maskedSource, packExample, pairSource, streamSource } from './lm-batches.js';

describe('prompt/completion batches', () => {
  it('fine-tuning on prompt/completion puts the loss on the completion only', () => {
    const ex = { prompt: [1, 2, 3], completion: [4, 5, 0] };
    const { seq, promptLen } = packExample(ex, 10);
    assert.deepEqual(seq, [1, 2, 3, 4, 5, 0]);
    assert.equal(promptLen, 3);
    const b = pairSource([ex, { prompt: [7], completion: [8, 0] }], 10, 0).fixed(2, 1)[0];
    assert.equal(b.T, 8); // the longest (5) padded to a multiple of 4
    assert.deepEqual(Array.from(b.ids.subarray(0, 8)), [1, 2, 3, 4, 5, 0, 0, 0]);
    assert.deepEqual(Array.from(b.targets.subarray(0, 8)), [-100, -100, 4, 5, 0, -100, -100, -100]);
    assert.deepEqual(Array.from(b.ids.subarray(8, 16)), [7, 8, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(b.targets.subarray(8, 16)), [8, 0, -100, -100, -100, -100, -100, -100]);
    // example weights become per-token loss weights on the completion
    const wb = pairSource(
      [
        { ...ex, weight: 2 },
        { prompt: [7], completion: [8, 0], weight: 0.5 },
      ],
      10,
      0,
    ).fixed(2, 1)[0];
    assert.deepEqual(Array.from(wb.weights!.subarray(0, 5)), [0, 0, 2, 2, 2]);
    assert.deepEqual(Array.from(wb.weights!.subarray(8, 10)), [0.5, 0.5]);
    // a long prompt is cut from the left so the completion survives
    assert.deepEqual(packExample({ prompt: [1, 2, 3, 4, 5, 6], completion: [7, 8] }, 4).seq, [4, 5, 6, 7, 8]);
  });

  it('gives a step the same batch however the run got there, each example once per epoch', () => {
    const examples = Array.from({ length: 10 }, (_, i) => ({ prompt: [1, i], completion: [2, 0] }));
    const a = pairSource(examples, 8, 0, 3),
      b = pairSource(examples, 8, 0, 3);
    const rng = new RNG(0);
    const steps = Array.from({ length: 5 }, (_, s) => a.sample(rng, 4, s)); // 20 positions: two epochs
    assert.deepEqual(b.sample(rng, 4, 3), steps[3]);
    const firstEpoch = steps
      .flatMap((x) => Array.from({ length: x.B }, (_, r) => x.ids[r * x.T + 1]))
      .slice(0, 10)
      .sort((p, q) => p - q);
    assert.deepEqual(
      firstEpoch,
      Array.from({ length: 10 }, (_, i) => i),
    );
  });

  it('keeps no per-example arrays: 20,000 examples of 60 tokens are one packed array', () => {
    const examples = Array.from({ length: 20000 }, (_, i) => ({
      prompt: Array.from({ length: 20 }, (_, j) => (i + j) % 500),
      completion: Array.from({ length: 40 }, (_, j) => (i * j) % 500),
    }));
    const before = process.memoryUsage().arrayBuffers;
    const src = pairSource(examples, 128, 0, 1);
    const grown = process.memoryUsage().arrayBuffers - before;
    // 1.2M tokens at 2 bytes, plus starts and prompt lengths: under 3 MB.
    assert.ok(grown < 3e6, `${grown} bytes of typed arrays`);
    const b = src.fixed(2, 1)[0];
    assert.deepEqual(Array.from(b.ids.subarray(0, 60)), [...examples[0].prompt, ...examples[0].completion]);
  });
});

describe('masked batches (conversations)', () => {
  it('puts the loss on the marked tokens only, and keeps the start of a long conversation', () => {
    // user 1 2 | assistant 3 4 | user 5 | assistant 6 7
    const ex = { ids: [1, 2, 3, 4, 5, 6, 7], mask: [0, 0, 1, 1, 0, 1, 1] };
    const b = maskedSource([ex], 16, 0).fixed(1, 1)[0];
    assert.equal(b.T, 8);
    assert.deepEqual(Array.from(b.ids), [1, 2, 3, 4, 5, 6, 0, 0]);
    assert.deepEqual(Array.from(b.targets), [-100, 3, 4, -100, 6, 7, -100, -100]);
    assert.equal(b.tokens, 4);
    const cut = maskedSource([ex], 4, 0).fixed(1, 1)[0]; // the first T + 1 = 5 tokens
    assert.deepEqual(Array.from(cut.ids), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(cut.targets), [-100, 3, 4, -100]);
    assert.throws(() => maskedSource([{ ids: [1, 2], mask: [1] }], 4, 0), /a mask of 1 for 2 tokens/);
  });
});

describe('token streams', () => {
  it('joins documents with the separator after each', () => {
    assert.deepEqual(Array.from(joinTokens([[1, 2], [], [3]], 0)), [1, 2, 0, 0, 3, 0]);
  });

  it('samples windows of T tokens with next-token targets', () => {
    const stream = Int32Array.from({ length: 50 }, (_, i) => i);
    const s = streamSource(stream, 8);
    const b = s.sample(new RNG(1), 3, 0);
    assert.equal(b.T, 8);
    for (let r = 0; r < 3; r++) for (let t = 0; t < 8; t++) assert.equal(b.targets[r * 8 + t], b.ids[r * 8 + t] + 1);
    assert.throws(() => streamSource(Int32Array.from([5]), 8), /at least 2 tokens/);
  });

  it('pads a batch to a multiple of 4 positions, at most T', () => {
    assert.equal(batchLength(5, 64), 8);
    assert.equal(batchLength(0, 64), 4);
    assert.equal(batchLength(63, 62), 62);
  });
});
