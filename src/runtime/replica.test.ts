import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WorkerPool } from '../engine/parallel.js';
import { RNG } from '../engine/rng.js';
import { kernels, shardLM } from '../train/kernels.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { attachLora, loraParams } from '../model/lora.js';
import { completionLogProbs } from './logprobs.js';
import { runSharded } from './replica.js';
import { sampleSequences } from '../model/sample.js';
import { generate } from './sample.js';

process.env.RLHF_THREADS = '2';
after(() => WorkerPool.shutdown());

/** A tiny model, 4 rows of T random tokens with targets (every fifth one ignored), and its replica. */
function lmSetup(modelSeed: number, dataSeed: number, T: number) {
  const model = createModel(presetConfig('tiny', { vocabSize: 40 }), modelSeed);
  const rng = new RNG(dataSeed);
  const B = 4;
  const ids = Int32Array.from({ length: B * T }, () => rng.int(40));
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 0 ? -100 : rng.int(40)));
  return { model, ids, targets, B, T, replica: { models: { policy: model }, heads: {} } };
}

describe('data parallelism over worker threads', () => {
  it('two shards on two threads give the gradient of the whole batch on one', () => {
    const { model, ids, targets, B, T, replica } = lmSetup(1, 3, 9);

    const one = shardLM(ids, targets, B, T, 1);
    const [whole] = runSharded(replica, kernels.lmStep, one);
    const want = model.params.map((p) => Float32Array.from(p.grad!));
    for (const p of model.params) p.zeroGrad();

    assert.ok(WorkerPool.get(), 'RLHF_THREADS=2 gives a pool');
    const two = shardLM(ids, targets, B, T, 2);
    assert.equal(two.length, 2);
    const losses = runSharded(replica, kernels.lmStep, two);
    const loss = losses[0] * two[0].weight + losses[1] * two[1].weight;
    assert.ok(Math.abs(loss - whole) < 1e-5, `${loss} vs ${whole}`);
    model.params.forEach((p, k) => {
      for (let i = 0; i < p.size; i++) {
        assert.ok(
          Math.abs(p.grad![i] - want[k][i]) < 1e-5 + 1e-4 * Math.abs(want[k][i]),
          `${p.name}[${i}]: ${p.grad![i]} vs ${want[k][i]}`,
        );
      }
    });
    // The workers see the optimizer's in-place updates: change a weight, and the next step agrees.
    model.params[0].data[0] += 0.5;
    for (const p of model.params) p.zeroGrad();
    const l1 = runSharded(replica, kernels.lmStep, shardLM(ids, targets, B, T, 1))[0];
    for (const p of model.params) p.zeroGrad();
    const l2 = runSharded(replica, kernels.lmStep, two);
    assert.ok(Math.abs(l2[0] * two[0].weight + l2[1] * two[1].weight - l1) < 1e-5);
  });

  it('sampling split across threads gives the same tokens as on one thread', () => {
    const model = createModel(presetConfig('tiny', { vocabSize: 40 }), 2);
    const prompts = [[1, 2], [3], [4, 5, 6], [7], [8, 9]];
    const opts = { maxNewTokens: 10, seed: 5, topK: 20 };
    const threaded = generate(model, prompts, opts);
    const single = sampleSequences(model, prompts, opts);
    assert.deepEqual(threaded, single);
  });

  it("LoRA on two threads: the adapters get the whole batch's gradient, the frozen base none", () => {
    const model = createModel(presetConfig('tiny', { vocabSize: 40 }), 4);
    attachLora(model, { rank: 2, alpha: 4, dropout: 0, targets: 'all-linear' });
    for (const p of loraParams(model)) for (let i = 0; i < p.size; i++) p.data[i] = 0.1 * Math.sin(i + p.size);
    const rng = new RNG(5);
    const B = 4,
      T = 7;
    const ids = Int32Array.from({ length: B * T }, () => rng.int(40));
    const targets = Int32Array.from({ length: B * T }, () => rng.int(40));
    const replica = { models: { policy: model }, heads: {} };
    runSharded(replica, kernels.lmStep, shardLM(ids, targets, B, T, 1));
    const want = loraParams(model).map((p) => Float32Array.from(p.grad!));
    for (const p of loraParams(model)) p.zeroGrad();
    runSharded(replica, kernels.lmStep, shardLM(ids, targets, B, T, 2));
    loraParams(model).forEach((p, k) => {
      for (let i = 0; i < p.size; i++) assert.ok(Math.abs(p.grad![i] - want[k][i]) < 1e-5, `${p.name}[${i}]`);
    });
    assert.ok(
      model.params.every((p) => p.grad === null),
      'no gradient buffer for a frozen parameter',
    );
    // With the adapters off (on this thread and in the worker alike), the base model's log-probs.
    const pairs = [
      { prompt: [1, 2], completion: [3, 4, 5] },
      { prompt: [6], completion: [7, 8] },
      { prompt: [9, 9], completion: [1] },
    ];
    const plain = createModel(presetConfig('tiny', { vocabSize: 40 }), 4);
    const base = completionLogProbs(plain, pairs, 0);
    const adapted = completionLogProbs(model, pairs, 0);
    assert.notDeepEqual(adapted, base);
    const off = runSharded({ models: { policy: model }, heads: {}, baseOnly: true }, kernels.rolloutShard, [
      { pairs: pairs.slice(0, 2), padId: 0, Tc: 3, temperature: 1, vocabSize: 40 },
      { pairs: pairs.slice(2), padId: 0, Tc: 3, temperature: 1, vocabSize: 40 },
    ]);
    const offLp = off.flatMap((o) => o.logp);
    const wantLp = [...base[0], ...base[1].concat([0]), ...base[2].concat([0, 0])];
    offLp.forEach((v, i) => assert.ok(Math.abs(v - wantLp[i]) < 1e-6, `log-prob ${i}: ${v} vs ${wantLp[i]}`));
    assert.deepEqual(completionLogProbs(model, pairs, 0), adapted, 'the adapters are back on afterwards');
  });

  it('a kernel without a backward pass adds no gradient, and the next step gets exactly its own', () => {
    const { model, ids, targets, B, T, replica } = lmSetup(4, 5, 7);
    const two = shardLM(ids, targets, B, T, 2);
    runSharded(replica, kernels.lmStep, two);
    const want = model.params.map((p) => Float32Array.from(p.grad!));
    for (const p of model.params) p.zeroGrad();
    // Sampling and log-probs on the same replica: the worker's buffers still hold the step's gradients.
    generate(model, [[1, 2], [3], [4, 5], [6]], { maxNewTokens: 4, seed: 1 });
    completionLogProbs(
      model,
      [
        { prompt: [1, 2], completion: [3, 4] },
        { prompt: [5], completion: [6] },
      ],
      0,
    );
    for (const p of model.params)
      assert.ok(
        p.grad!.every((x) => x === 0),
        `${p.name} got a gradient`,
      );
    runSharded(replica, kernels.lmStep, two);
    model.params.forEach((p, k) => assert.deepEqual(p.grad, want[k], p.name));
  });

  it('an error in a worker reaches the caller', () => {
    const model = createModel(presetConfig('tiny', { vocabSize: 40 }), 1);
    const replica = { models: { policy: model }, heads: {} };
    const bad = { ids: Int32Array.from([1, 2, 99]), targets: Int32Array.from([1, 2, 3]), B: 1, T: 3, weight: 1 };
    const good = { ...bad, ids: Int32Array.from([1, 2, 3]) };
    assert.throws(
      () => runSharded(replica, kernels.lmStep, [good, bad]),
      /in a worker thread: .*outside the vocabulary/s,
    );
  });
});
