// Gradient checkpointing in training: every trainer takes --gradient-checkpointing; the replicas that
// runSharded builds in worker threads carry the setting; a data-parallel step, and a whole DPO run, give
// what the plain backward gives.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WorkerPool } from '../engine/parallel.js';
import { RNG } from '../engine/rng.js';
import { type ModelConfig, presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import type { Comparison } from '../data/comparison.js';
import { dpoOptions } from './dpo-config.js';
import { trainDPO } from './dpo.js';
import { grpoOptions } from './grpo-config.js';
import { trainGRPO } from './grpo.js';
import { hindsightOptions } from './hindsight-config.js';
import { kernels, shardLM } from './kernels.js';
import { ppoOptions } from './ppo-config.js';
import { restOptions } from './rest-config.js';
import { rlooOptions } from './rloo-config.js';
import { rewardOptions } from './reward-config.js';
import { sftOptions } from './sft-config.js';
import { letterPolicy } from './test-fixtures.js';
import { ReplicaSet, buildReplica, runSharded } from '../runtime/replica.js';

process.env.RLHF_THREADS = '2';
after(() => WorkerPool.shutdown());

const CONFIGS: Record<string, ModelConfig> = {
  gpt2: presetConfig('tiny', { vocabSize: 48 }),
  llama: {
    family: 'llama',
    vocabSize: 48,
    nPositions: 32,
    nEmbd: 16,
    nHead: 4,
    nKvHead: 2,
    nLayer: 2,
    intermediateSize: 24,
    layerNormEps: 1e-6,
    eosTokenId: 1,
  },
};

describe('gradient checkpointing on worker threads', () => {
  for (const [family, config] of Object.entries(CONFIGS)) {
    it(`${family}: a two-thread step gives the gradients of the plain one`, () => {
      const model = createModel(config, 1);
      const rng = new RNG(2);
      const B = 4,
        T = 10;
      const ids = Int32Array.from({ length: B * T }, () => rng.int(config.vocabSize));
      const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 6 === 0 ? -100 : rng.int(config.vocabSize)));
      const replica = { models: { policy: model }, heads: {} };
      const shards = shardLM(ids, targets, B, T, 2);
      assert.equal(shards.length, 2);
      assert.ok(WorkerPool.get(), 'RLHF_THREADS=2 gives a pool');
      const step = () => {
        for (const p of model.params) p.zeroGrad();
        const losses = runSharded(replica, kernels.lmStep, shards);
        return { losses, grads: model.params.map((p) => Float32Array.from(p.grad!)) };
      };
      const plain = step();
      model.gradientCheckpointing = true;
      const ckpt = step();
      ckpt.losses.forEach((l, k) => assert.ok(Math.abs(l - plain.losses[k]) <= 1e-6, `${l} vs ${plain.losses[k]}`));
      model.params.forEach((p, k) => {
        for (let i = 0; i < p.size; i++) {
          const got = ckpt.grads[k][i],
            want = plain.grads[k][i];
          assert.ok(Math.abs(got - want) <= 1e-6, `${p.name}[${i}]: ${got} vs ${want}`);
        }
      });
    });
  }

  it("a worker's replica is built with its model's setting", () => {
    const model = createModel(CONFIGS.gpt2, 3);
    const main = { models: { policy: model, reference: model.clone() }, heads: {} };
    model.gradientCheckpointing = true;
    const r = buildReplica(new ReplicaSet(main, 1).specs[0]);
    assert.equal(r.models.policy.gradientCheckpointing, true);
    assert.equal(r.models.reference.gradientCheckpointing, false);
  });

  it('every trainer takes --gradient-checkpointing, off by default', () => {
    const trainers = {
      ...{ sftOptions, rewardOptions, dpoOptions, ppoOptions },
      ...{ grpoOptions, rlooOptions, restOptions, hindsightOptions },
    };
    for (const [name, o] of Object.entries(trainers)) {
      const spec = (o.spec as Record<string, { flag: string }>).gradientCheckpointing;
      assert.equal(spec?.flag, '--gradient-checkpointing', name);
      assert.equal((o.defaults() as { gradientCheckpointing: boolean }).gradientCheckpointing, false, name);
    }
  });

  it('train dpo with it checkpoints the policy and trains the same weights', () => {
    const { model, tok } = letterPolicy(10);
    const start = model.params.map((p) => Float32Array.from(p.data));
    const comps: Comparison[] = Array.from({ length: 24 }, (_, i) => ({
      prompt: [' b', ' c d'][i % 2],
      completions: [' a a', ' e b'],
      ranking: [0, 1],
    }));
    const run = (gradientCheckpointing: boolean) => {
      model.params.forEach((p, k) => p.data.set(start[k]));
      const dir = mkdtempSync(join(tmpdir(), 'rlhf-ckpt-dpo-'));
      const cfg = { ...dpoOptions.defaults(), outDir: dir, steps: 3, batchSize: 8, evalEvery: 0, quiet: true };
      const r = trainDPO(model, tok, comps, [], { ...cfg, gradientCheckpointing }, () => {});
      assert.equal(model.gradientCheckpointing, gradientCheckpointing);
      return { loss: r.finalLoss, weights: model.params.map((p) => Float32Array.from(p.data)) };
    };
    const plain = run(false),
      ckpt = run(true);
    assert.equal(ckpt.loss, plain.loss);
    ckpt.weights.forEach((w, k) => assert.deepEqual(w, plain.weights[k], model.params[k].name));
  });

  it('train grpo with it trains the same weights', async () => {
    const { model, tok } = letterPolicy(10);
    const start = model.params.map((p) => Float32Array.from(p.data));
    const run = async (gradientCheckpointing: boolean) => {
      model.params.forEach((p, k) => p.data.set(start[k]));
      const o = { outDir: mkdtempSync(join(tmpdir(), 'rlhf-ckpt-grpo-')), steps: 2, batchSize: 2, numGenerations: 4 };
      const cfg = { ...grpoOptions.defaults(), ...o, beta: 0.1, maxCompletionLength: 4, lr: 1e-2, quiet: true };
      const rewards = (items: { completion: string }[]) => items.map((x) => x.completion.split('a').length);
      await trainGRPO(model, tok, [' b', ' c'], rewards, { ...cfg, gradientCheckpointing }, () => {});
      assert.equal(model.gradientCheckpointing, gradientCheckpointing);
      return model.params.map((p) => Float32Array.from(p.data));
    };
    const plain = await run(false),
      ckpt = await run(true);
    ckpt.forEach((w, k) => assert.deepEqual(w, plain[k], model.params[k].name));
  });
});
