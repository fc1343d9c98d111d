// Gradient checkpointing (CausalLM.gradientCheckpointing, ops.checkpoint) changes memory, not results:
// the loss and every gradient equal those of the plain backward, for each family; KV-cache decoding is
// untouched; the buffer pool does not grow across steps.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph, poolStats } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import type { CausalLM } from './causal-lm.js';
import { type ModelConfig, presetConfig } from './config.js';
import { createModel } from './create-model.js';
import { KVCache } from './kv-cache.js';
import { attachLora, loraParams, setLoraStep } from './lora.js';

const base = { vocabSize: 64, nPositions: 32, nEmbd: 16, nHead: 4, nLayer: 3, layerNormEps: 1e-6, eosTokenId: 1 };
const CHECKPOINT_CONFIGS: Record<string, ModelConfig> = {
  gpt2: presetConfig('tiny', { vocabSize: 64, nLayer: 3 }),
  llama: { ...base, family: 'llama', nKvHead: 2, intermediateSize: 24, bosTokenId: 0 },
  qwen3: { ...base, family: 'qwen3', nKvHead: 2, headDim: 8, intermediateSize: 24, attentionBias: true },
};

/** A batch of B sequences of T random tokens, with some positions left out of the loss. */
function randomBatch(seed: number, B: number, T: number, V: number) {
  const rng = new RNG(seed);
  const ids = Int32Array.from({ length: B * T }, () => rng.int(V));
  const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 7 === 3 ? -100 : rng.int(V)));
  return { ids, targets, B, T };
}

/** The loss and a copy of every gradient after one backward pass. */
function lossAndGrads(m: CausalLM, b: ReturnType<typeof randomBatch>): { loss: number; grads: Float32Array[] } {
  for (const p of m.params) p.zeroGrad();
  const g = new Graph();
  const loss = m.loss(g, b.ids, b.targets, b.B, b.T);
  g.backward(loss);
  const out = { loss: loss.item(), grads: m.params.map((p) => Float32Array.from(p.grad!)) };
  g.dispose();
  return out;
}

for (const [family, config] of Object.entries(CHECKPOINT_CONFIGS)) {
  describe(`gradient checkpointing: ${family}`, () => {
    it('gives the loss and gradients of the plain backward', () => {
      const m = createModel(config, 3);
      const b = randomBatch(5, 3, 11, config.vocabSize);
      assert.equal(m.gradientCheckpointing, false, 'off by default');
      const plain = lossAndGrads(m, b);
      m.gradientCheckpointing = true;
      const ckpt = lossAndGrads(m, b);
      assert.ok(Math.abs(ckpt.loss - plain.loss) <= 1e-6, `${ckpt.loss} vs ${plain.loss}`);
      m.params.forEach((p, k) => {
        const want = plain.grads[k],
          got = ckpt.grads[k];
        for (let i = 0; i < want.length; i++)
          assert.ok(Math.abs(got[i] - want[i]) <= 1e-6, `${p.name}[${i}]: ${got[i]} vs ${want[i]}`);
      });
      assert.ok(plain.grads.some((gr) => gr.some((v) => v !== 0)));
    });

    it('leaves KV-cache decoding and inference as they were', () => {
      const m = createModel(config, 4);
      const b = randomBatch(6, 2, 6, config.vocabSize);
      const run = () => {
        const cache = KVCache.forModel(m.config, 2, 8);
        const g = Graph.inference();
        const first = Float32Array.from(m.forward(g, b.ids, 2, 6, { cache }).data);
        const next = Float32Array.from(m.forward(g, Int32Array.from([2, 3]), 2, 1, { cache }).data);
        g.dispose();
        return [first, next];
      };
      const plain = run();
      m.gradientCheckpointing = true;
      assert.deepEqual(run(), plain);
      assert.equal(m.clone().gradientCheckpointing, true, 'clone() keeps the setting');
    });

    it('takes the same buffers from the pool at every step, and fewer than the plain backward', () => {
      const m = createModel(config, 7);
      const b = randomBatch(8, 4, 16, config.vocabSize);
      // The most floats a step holds at once: its forward's, read before backward frees anything.
      const held = () => {
        const g = new Graph();
        const before = poolStats().inUse;
        m.loss(g, b.ids, b.targets, b.B, b.T);
        const n = poolStats().inUse - before;
        g.dispose();
        return n;
      };
      const plainHeld = held();
      m.gradientCheckpointing = true;
      lossAndGrads(m, b);
      const warm = poolStats();
      for (let i = 0; i < 3; i++) lossAndGrads(m, b);
      const after = poolStats();
      assert.equal(after.inUse, warm.inUse);
      assert.equal(after.highWater, warm.highWater);
      assert.ok(held() < plainHeld, `checkpointed forward holds ${held()} floats, plain ${plainHeld}`);
    });
  });
}

describe('gradient checkpointing with LoRA dropout', () => {
  it("recomputes each block with the forward's dropout masks: the adapters' gradients are the plain backward's", () => {
    for (const config of [CHECKPOINT_CONFIGS.gpt2, CHECKPOINT_CONFIGS.llama]) {
      const b = randomBatch(6, 2, 9, config.vocabSize);
      // Two identical models with the same masks (dropout seeded by seed, module and step 7), one checkpointed.
      const grads = (checkpointing: boolean) => {
        const m = createModel(config, 3);
        attachLora(m, { rank: 2, alpha: 4, dropout: 0.3, targets: 'all-linear', seed: 1 });
        const adapters = loraParams(m);
        for (const p of adapters) for (let i = 0; i < p.size; i++) p.data[i] = 0.1 * Math.sin(i + p.size);
        m.gradientCheckpointing = checkpointing;
        setLoraStep(adapters, 7);
        for (const p of adapters) p.zeroGrad();
        const g = new Graph();
        g.backward(m.loss(g, b.ids, b.targets, b.B, b.T));
        const out = adapters.map((p) => ({ name: p.name, grad: Float32Array.from(p.grad!) }));
        g.dispose();
        return out;
      };
      const plain = grads(false),
        ckpt = grads(true);
      plain.forEach(({ name, grad }, k) => {
        for (let i = 0; i < grad.length; i++)
          assert.ok(Math.abs(ckpt[k].grad[i] - grad[i]) <= 1e-6, `${name}[${i}]: ${ckpt[k].grad[i]} vs ${grad[i]}`);
      });
      assert.ok(plain.some(({ grad }) => grad.some((v) => v !== 0)));
    }
  });
});
