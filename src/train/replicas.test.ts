// Every trainer splits its batches across worker threads (runtime/replica.ts), whose replicas createModel
// builds in each worker from the config alone: on every family, two threads must give the gradient and the
// samples of one.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WorkerPool } from '../engine/parallel.js';
import { RNG } from '../engine/rng.js';
import type { Parameter } from '../engine/tensor.js';
import type { CausalLM } from '../model/causal-lm.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { RewardModel, padSequences } from '../model/reward-model.js';
import { sampleSequences } from '../model/sample.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { runSharded } from '../runtime/replica.js';
import { rewardReplica } from '../runtime/reward.js';
import { generate } from '../runtime/sample.js';
import { assertAllClose } from '../test-support/assert-close.js';
import { type RewardShard, kernels, shardLM } from './kernels.js';
import { TINY_FAMILY_CONFIGS, type TestFamily } from './test-fixtures.js';

process.env.RLHF_THREADS = '2';
after(() => WorkerPool.shutdown());

const FAMILIES: TestFamily[] = ['gpt2', 'llama', 'qwen2', 'qwen3'];

/** A model of the family's tiny test shape (the tiny preset for GPT-2). */
function tinyModel(family: TestFamily, seed: number): CausalLM {
  const vocab = { vocabSize: 64, eosTokenId: 0 };
  return createModel(
    family === 'gpt2' ? presetConfig('tiny', vocab) : { ...TINY_FAMILY_CONFIGS[family], ...vocab },
    seed,
  );
}

for (const family of FAMILIES) {
  describe(`worker replicas (${family})`, () => {
    it('two threads give the gradient of one: a policy, and a reward trunk with its score head', () => {
      assert.ok(WorkerPool.get(), 'RLHF_THREADS=2 gives a pool');
      const rng = new RNG(3);
      const B = 4,
        T = 9;
      const ids = Int32Array.from({ length: B * T }, () => rng.int(64));
      const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 5 === 0 ? -100 : rng.int(64)));
      const model = tinyModel(family, 1);
      const rm = RewardModel.fromTrunk(tinyModel(family, 2), Tokenizer.train(['a b c'], { vocabSize: 258 }), 16, 2);
      const seqs = Array.from({ length: 4 }, (_, i) => Array.from({ length: 5 + i }, () => rng.int(64)));
      const rewardShards = (n: number): RewardShard[] =>
        Array.from({ length: n }, (_, k) => {
          const part = seqs.slice((k * seqs.length) / n, ((k + 1) * seqs.length) / n); // pairs (0, 1), (2, 3)
          return {
            batch: padSequences(part, 0),
            chosen: Int32Array.from({ length: part.length / 2 }, (_, i) => 2 * i),
            rejected: Int32Array.from({ length: part.length / 2 }, (_, i) => 2 * i + 1),
            margins: null,
            pairWeights: new Float32Array(part.length / 2).fill(1),
            centering: 0,
            weight: 1 / n,
          };
        });
      const grads = (n: number) => {
        for (const p of [...model.params, ...rm.params]) p.zeroGrad();
        runSharded({ models: { policy: model }, heads: {} }, kernels.lmStep, shardLM(ids, targets, B, T, n));
        runSharded(rewardReplica(rm), kernels.rewardStep, rewardShards(n));
        const named = (role: string, ps: Parameter[]) => ps.map((p) => ({ name: `${role}/${p.name}`, grad: p.grad! }));
        return [...named('policy', model.params), ...named('reward', rm.params)].map((x) => ({
          ...x,
          grad: Float32Array.from(x.grad),
        }));
      };
      const one = grads(1),
        two = grads(2);
      one.forEach(({ name, grad }, k) => assertAllClose(two[k].grad, grad, { atol: 1e-5, rtol: 1e-4 }, name));
    });
    it('sampling split across threads gives the tokens of one thread (KV cache in each replica)', () => {
      const model = tinyModel(family, 2);
      const prompts = [[1, 2], [3], [4, 5, 6], [7], [8, 9]];
      const opts = { maxNewTokens: 10, seed: 5, topK: 20 };
      assert.deepEqual(generate(model, prompts, opts), sampleSequences(model, prompts, opts));
    });
  });
}
