// Llama, Qwen2 and Qwen3 checkpoints written here, read by an independent PyTorch implementation of
// Hugging Face's modeling code (tests/interop/torch_llama.py, no transformers): the same logits, loss and
// gradients. Skipped where PyTorch is missing (CI installs it: .ci/run).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import * as ops from '../engine/ops/index.js';
import { assertAllClose } from '../test-support/assert-close.js';
import type { CausalLM } from './causal-lm.js';
import { saveCheckpoint } from './checkpoint.js';
import type { ModelConfig } from './config.js';
import { createModel } from './create-model.js';

const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
const skip = python ? false : 'PyTorch not installed (apt-get install python3-torch)';

const base = { vocabSize: 96, nPositions: 64, nEmbd: 32, nHead: 4, nLayer: 2, layerNormEps: 1e-6, eosTokenId: 2 };
/** llama3 scaling with original_max_position_embeddings 64: at head width 8 and θ 10000 the four wavelengths
 * (6.3, 63, 628, 6283) fall in every branch (kept, interpolated, divided by the factor twice). */
const llama3 = {
  type: 'llama3' as const,
  factor: 8,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings: 64,
};

const CASES: { name: string; config: ModelConfig }[] = [
  {
    name: 'llama, grouped-query attention, llama3 rope scaling, untied lm_head',
    config: {
      ...base,
      family: 'llama',
      nKvHead: 2,
      intermediateSize: 48,
      ropeScaling: llama3,
      tieWordEmbeddings: false,
    },
  },
  {
    name: 'llama, grouped-query attention, llama3 rope scaling, tied embeddings',
    config: {
      ...base,
      family: 'llama',
      nKvHead: 2,
      intermediateSize: 48,
      ropeScaling: llama3,
      tieWordEmbeddings: true,
    },
  },
  {
    name: 'llama with attention and MLP biases, linear rope scaling, multi-query attention',
    config: {
      ...base,
      family: 'llama',
      nKvHead: 1,
      intermediateSize: 40,
      ropeTheta: 500000,
      ropeScaling: { type: 'linear', factor: 2 },
      attentionBias: true,
      mlpBias: true,
    },
  },
  {
    name: 'qwen2 (biases on q, k, v), tied embeddings',
    config: { ...base, family: 'qwen2', nKvHead: 2, intermediateSize: 56, ropeTheta: 1e6, tieWordEmbeddings: true },
  },
  {
    name: 'qwen3 (per-head q/k RMSNorm), head_dim 16 ≠ hidden_size / heads',
    config: { ...base, family: 'qwen3', nKvHead: 2, headDim: 16, intermediateSize: 48, ropeTheta: 1e6 },
  },
];

/** Moves every parameter away from its init (norms off 1, biases off 0), so each one shows in the logits. */
function perturb(model: CausalLM): void {
  for (const p of model.params) for (let i = 0; i < p.size; i++) p.data[i] += 0.05 * Math.sin(3 * i + p.size);
}

const ids = [
  [1, 5, 9, 2, 95, 0, 7, 33, 12, 60, 61, 3],
  [3, 3, 3, 40, 41, 42, 8, 90, 17, 17, 4, 5],
];
const B = ids.length,
  T = ids[0].length;
// Loss on some positions only (-100 elsewhere), as the trainers mask prompts.
const targets = ids.map((row) => row.map((id, t) => (t === row.length - 1 || t < 2 ? -100 : id)));
/** The cases whose gradients are compared too: untied llama (GQA, llama3), tied qwen2 (biases) and qwen3. */
const WITH_GRADS = [0, 3, 4];

interface Answer {
  logits: number[][][];
  loss?: number;
  grads?: Record<string, number[]>;
}

/**
 * Every case's model, saved as a checkpoint and answered by PyTorch in one process (importing torch takes
 * seconds); computed on first use.
 */
let computed: { models: CausalLM[]; answers: Answer[] } | null = null;
function modelsAndAnswers(): { models: CausalLM[]; answers: Answer[] } {
  if (computed) return computed;
  const root = mkdtempSync(join(tmpdir(), 'rlhf-llama-interop-'));
  try {
    const models = CASES.map(({ config }, i) => {
      const m = createModel(config, 7 + i);
      perturb(m);
      saveCheckpoint(join(root, String(i)), m);
      return m;
    });
    const requests = CASES.map((_, i) => ({
      dir: join(root, String(i)),
      ids,
      ...(WITH_GRADS.includes(i) ? { targets } : {}),
    }));
    const r = spawnSync(python!, ['tests/interop/torch_llama.py'], {
      input: JSON.stringify({ requests }),
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    });
    assert.equal(r.status, 0, r.stderr);
    computed = { models, answers: (JSON.parse(r.stdout) as { answers: Answer[] }).answers };
    return computed;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('Llama family against an independent PyTorch implementation', () => {
  CASES.forEach(({ name }, i) => {
    it(`${name}: logits within 1e-4`, { skip }, () => {
      const { models, answers } = modelsAndAnswers();
      const want = answers[i].logits.flat(2);
      const g = Graph.inference();
      const got = models[i].forward(g, Int32Array.from(ids.flat()), B, T).data;
      assert.equal(got.length, want.length);
      assertAllClose(got, want, 1e-4, 'logits');
      g.dispose();
    });
  });

  it('the loss and the gradient of every parameter (untied llama, tied qwen2, qwen3)', { skip }, () => {
    const { models, answers } = modelsAndAnswers();
    for (const i of WITH_GRADS) {
      const model = models[i],
        want = answers[i];
      const g = new Graph();
      const logits = model.forward(g, Int32Array.from(ids.flat()), B, T);
      const loss = ops.crossEntropy(g, logits, Int32Array.from(targets.flat()));
      assertAllClose([loss.item()], [want.loss!], 1e-5, 'loss');
      g.backward(loss);
      g.dispose();
      for (const p of model.params)
        assertAllClose(p.grad!, want.grads![p.name], { atol: 1e-6, rtol: 1e-3 }, `${CASES[i].name}: grad of ${p.name}`);
    }
  });
});
