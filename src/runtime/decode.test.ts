// Sampling with the decode weights (engine/decode-weights.ts) against the BLAS path it replaces, on every
// family, with LoRA adapters on, and after the weights change between runs (an optimizer step).
process.env.RLHF_THREADS = '2';

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdamW } from '../engine/optim.js';
import { decodeWeights } from '../engine/decode-weights.js';
import type { ModelConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { attachLora, loraParams } from '../model/lora.js';
import { generate } from './sample.js';

const base = { vocabSize: 300, nPositions: 64, nEmbd: 48, nHead: 4, nLayer: 2, layerNormEps: 1e-5, eosTokenId: 299 };
const CONFIGS: Record<string, ModelConfig> = {
  gpt2: { ...base, family: 'gpt2' },
  llama: { ...base, family: 'llama', nKvHead: 2, intermediateSize: 72 },
  'qwen3 (tied)': { ...base, family: 'qwen3', nKvHead: 1, headDim: 16, intermediateSize: 72, tieWordEmbeddings: true },
};
const prompts = [
  [5, 9, 11],
  [7, 8],
  [1, 2, 3, 4, 5],
];

const greedy = (model: ReturnType<typeof createModel>, decode: 'float32' | 'bfloat16' | 'off') =>
  generate(model, prompts, { maxNewTokens: 20, temperature: 0, seed: 0, decodeWeights: decode }).map((g) => g.tokens);

describe('sampling on the decode weights', () => {
  for (const [name, config] of Object.entries(CONFIGS)) {
    it(`${name}: float32 decode weights give the BLAS path's tokens, bfloat16 ones nearly`, () => {
      const model = createModel(config, 3);
      const want = greedy(model, 'off');
      assert.deepEqual(greedy(model, 'float32'), want);
      assert.ok(decodeWeights()!.bytes > 0, 'the weights were copied');
      const bf = greedy(model, 'bfloat16').flat();
      const same = bf.filter((t, i) => t === want.flat()[i]).length;
      assert.ok(same >= 0.5 * bf.length, `bfloat16 kept ${same} of ${bf.length} greedy tokens`);
    });
  }

  it('with LoRA adapters on (their term is added to the decode product)', () => {
    const model = createModel(CONFIGS.llama, 5);
    attachLora(model, { rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] });
    // A non-zero B, so the adapters change the output.
    for (const p of loraParams(model)) for (let i = 0; i < p.size; i++) p.data[i] = Math.sin(i * 1.7) * 0.3;
    assert.deepEqual(greedy(model, 'float32'), greedy(model, 'off'));
  });

  it('sees an optimizer step between two runs (the copies are made again)', () => {
    const model = createModel(CONFIGS.gpt2, 9);
    greedy(model, 'float32');
    const opt = new AdamW(model.params, { lr: 0.5 });
    for (const p of model.params) p.grad = Float32Array.from({ length: p.size }, (_, i) => Math.cos(i));
    opt.update();
    assert.deepEqual(greedy(model, 'float32'), greedy(model, 'off'));
  });
});
