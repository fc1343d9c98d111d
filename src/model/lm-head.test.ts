// The fused head (model/lm-head.ts) against the unfused path it replaces, on every family: values and
// gradients equal model.logits → policyLogits → tokenLogProbs (and crossEntropy for the loss).

import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import type { Parameter, Tensor } from '../engine/tensor.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import type { CausalLM } from './causal-lm.js';
import type { ModelConfig } from './config.js';
import { createModel } from './create-model.js';
import { headLogProbs, headLogProbsAndEntropy, headLoss } from './lm-head.js';
import { policyLogits } from './logits.js';

const base = { vocabSize: 64, nPositions: 32, nEmbd: 16, nHead: 4, nLayer: 1, layerNormEps: 1e-5, eosTokenId: 1 };
const CONFIGS: Record<string, ModelConfig> = {
  gpt2: { ...base, family: 'gpt2' },
  llama: { ...base, family: 'llama', nKvHead: 2, intermediateSize: 24 },
  'qwen2 (tied)': { ...base, family: 'qwen2', nKvHead: 1, intermediateSize: 24, tieWordEmbeddings: true },
};

const B = 2,
  T = 6;
const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 64);
const targets = Int32Array.from({ length: B * T }, (_, i) => (i % 4 === 0 ? -100 : (i * 5 + 1) % 64));
targets[5] = 62; // an id past the tokenizer's vocabulary below: no probability

/** Parameter gradients of fn's scalar, in parameter order. */
function paramGrads(model: CausalLM, fn: (g: Graph) => Tensor): Float32Array[] {
  for (const p of model.params) p.grad = null;
  const g = new Graph();
  g.backward(fn(g));
  g.dispose();
  const out = model.params.map((p) => (p.grad ? Float32Array.from(p.grad) : new Float32Array(p.size)));
  for (const p of model.params) p.grad = null;
  return out;
}

for (const [name, config] of Object.entries(CONFIGS)) {
  describe(`fused LM head (${name})`, () => {
    const model = createModel(config, 3);
    const dist = { temperature: 0.8, vocabSize: 60 };
    const w = Float32Array.from({ length: B * T }, (_, i) => Math.sin(i + 1));

    it('log-probs and their gradients equal logits → policyLogits → tokenLogProbs', () => {
      const unfused = (g: Graph) => ops.tokenLogProbs(g, policyLogits(g, model.forward(g, ids, B, T), dist), targets);
      const fused = (g: Graph) => headLogProbs(g, model, model.hidden(g, ids, B, T), targets, dist);
      const g = Graph.inference();
      assertAllClose(fused(g).data, unfused(g).data, 1e-5, 'log-probs');
      g.dispose();
      const want = paramGrads(model, (g) => ops.dot(g, unfused(g), w));
      const got = paramGrads(model, (g) => ops.dot(g, fused(g), w));
      got.forEach((d, k) => assertAllClose(d, want[k], 1e-5, `gradient of ${model.params[k].name}`));
    });

    it('entropy equals ops.entropy of the policy logits on the rows with a target', () => {
      const g = Graph.inference();
      const want = ops.entropy(g, policyLogits(g, model.forward(g, ids, B, T), dist)).data;
      const got = headLogProbsAndEntropy(g, model, model.hidden(g, ids, B, T), targets, dist).entropy.data;
      for (let i = 0; i < B * T; i++) assertClose(got[i], targets[i] >= 0 ? want[i] : 0, 1e-5, `entropy ${i}`);
      g.dispose();
    });

    it('loss() equals crossEntropy of the logits, weighted or not, in value and gradient', () => {
      const t = Int32Array.from(targets, (x) => (x === 62 ? 2 : x));
      for (const weights of [undefined, Array.from(w, Math.abs)]) {
        const unfused = (g: Graph) => ops.crossEntropy(g, model.forward(g, ids, B, T), t, weights);
        const fused = (g: Graph) => model.loss(g, ids, t, B, T, weights);
        const g = Graph.inference();
        assertClose(fused(g).item(), unfused(g).item(), 1e-5, 'loss');
        assertClose(headLoss(g, model, model.hidden(g, ids, B, T), t, weights).item(), unfused(g).item(), 1e-5);
        g.dispose();
        const want = paramGrads(model, unfused);
        paramGrads(model, fused).forEach((d, k) => assertAllClose(d, want[k], 1e-5, `∂loss/∂${model.params[k].name}`));
      }
    });

    it('a frozen head gets no gradient', () => {
      const head: Parameter = model.lmHead;
      head.requiresGrad = false;
      try {
        const grads = paramGrads(model, (g) => ops.sum(g, headLogProbs(g, model, model.hidden(g, ids, B, T), targets)));
        const k = model.params.indexOf(head);
        if (grads[k].some((x) => x !== 0)) throw new Error('the frozen head received a gradient');
      } finally {
        head.requiresGrad = true;
      }
    });
  });
}
