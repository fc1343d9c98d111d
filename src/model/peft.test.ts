// Adapters in PEFT's layout: the files, names and config fields PEFT writes, loading them back (merged
// or kept), reward and value heads, adapters on adapters, and an independent reading of the files
// with PEFT's semantics in PyTorch (tests/interop/peft_lora.py).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import type { CausalLM } from './causal-lm.js';
import { loadCheckpoint, readCheckpointConfig, restoreAdapterCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type ModelConfig, presetConfig } from './config.js';
import { createModel } from './create-model.js';
import { rewardHead, valueHead } from './heads.js';
import { attachLora, loraOf, loraParams } from './lora.js';
import { readSafetensors } from './safetensors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-peft-'));
const ids = [
  [1, 5, 9, 2, 40, 0, 7],
  [3, 3, 3, 41, 42, 8, 6],
];

function logits(model: CausalLM): Float32Array {
  const g = Graph.inference();
  const out = Float32Array.from(model.forward(g, Int32Array.from(ids.flat()), 2, 7).data);
  g.dispose();
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A small Llama-family config (grouped-query attention, untied head), as the Llama interop tests use. */
const llama: ModelConfig = {
  family: 'llama',
  vocabSize: 48,
  nPositions: 16,
  nEmbd: 32,
  nHead: 4,
  nKvHead: 2,
  nLayer: 2,
  intermediateSize: 48,
  layerNormEps: 1e-6,
  eosTokenId: 2,
  tieWordEmbeddings: false,
};

/** A saved base model, loaded back, with trained-looking adapters attached. */
function adaptedModel(targets: string[] | string = [], rank = 4, config?: ModelConfig) {
  const base = tmp();
  const m0 = createModel(config ?? presetConfig('tiny', { vocabSize: 48, nPositions: 16 }), 7);
  for (const p of m0.params) for (let i = 0; i < p.size; i++) p.data[i] += 0.05 * Math.sin(i + p.size);
  saveCheckpoint(base, m0);
  const model = loadCheckpoint(base).model;
  attachLora(model, { rank, alpha: 16, dropout: 0.05, targets });
  const rng = new RNG(3);
  for (const p of loraParams(model)) for (let i = 0; i < p.size; i++) p.data[i] = 0.3 * rng.normal();
  return { base, model };
}

const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);

describe("adapters in PEFT's layout", () => {
  it('writes adapter_config.json and adapter_model.safetensors with the fields and names PEFT writes', () => {
    const { base, model } = adaptedModel();
    const dir = tmp();
    saveCheckpoint(dir, model, { meta: { kind: 'policy', trainer: 'sft' } });
    assert.ok(!existsSync(join(dir, 'model.safetensors')), 'the adapter only, not the whole model');
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(Object.keys(cfg), Object.keys(cfg).sort(), 'keys sorted, as PEFT writes them');
    assert.deepEqual(cfg, {
      alpha_pattern: {},
      auto_mapping: null,
      base_model_name_or_path: resolve(base),
      bias: 'none',
      fan_in_fan_out: true,
      inference_mode: true,
      init_lora_weights: true,
      layers_pattern: null,
      layers_to_transform: null,
      lora_alpha: 16,
      lora_dropout: 0.05,
      modules_to_save: null,
      peft_type: 'LORA',
      r: 4,
      rank_pattern: {},
      revision: null,
      target_modules: ['c_attn'],
      task_type: 'CAUSAL_LM',
      use_dora: false,
      use_rslora: false,
    });
    const { tensors, metadata } = readSafetensors(join(dir, 'adapter_model.safetensors'));
    assert.deepEqual(metadata, { format: 'pt' });
    const shapes = Object.fromEntries([...tensors].map(([k, t]) => [k, t.shape]));
    assert.deepEqual(shapes, {
      'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': [4, 32],
      'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight': [96, 4],
      'base_model.model.transformer.h.1.attn.c_attn.lora_A.weight': [4, 32],
      'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight': [96, 4],
    });
    const info = readCheckpointConfig(dir);
    assert.equal(info.config.nEmbd, 32, "the base model's config");
    assert.equal(info.meta.trainer, 'sft');
    assert.deepEqual(info.meta.lora, { base: resolve(base), r: 4, alpha: 16, dropout: 0.05, targets: ['c_attn'] });
  });

  it("names a Llama model's adapters as PEFT does: q_proj and v_proj by default, no fan_in_fan_out", () => {
    const { model } = adaptedModel([], 4, llama);
    const dir = tmp();
    saveCheckpoint(dir, model);
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(cfg.target_modules, ['q_proj', 'v_proj']);
    assert.equal(cfg.fan_in_fan_out, false);
    const shapes = Object.fromEntries(
      [...readSafetensors(join(dir, 'adapter_model.safetensors')).tensors].map(([k, t]) => [k, t.shape]),
    );
    assert.deepEqual(shapes['base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight'], [4, 32]);
    assert.deepEqual(shapes['base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight'], [16, 4]);
    assert.equal(Object.keys(shapes).length, 8);
    assert.ok(maxDiff(logits(loadCheckpoint(dir).model), logits(model)) < 1e-5);
  });

  it('loads back merged (the default) within 1e-5, or with the adapters kept, exactly', () => {
    const { base, model } = adaptedModel('all-linear');
    const want = logits(model);
    const dir = tmp();
    saveCheckpoint(dir, model);
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(cfg.target_modules, ['c_attn', 'c_fc', 'c_proj'], 'all-linear as the modules it adapted');
    const merged = loadCheckpoint(dir);
    assert.equal(loraOf(merged.model), null);
    assert.ok(maxDiff(logits(merged.model), want) < 1e-5);
    const kept = loadCheckpoint(dir, { adapters: 'keep' });
    assert.ok(loraOf(kept.model));
    assert.deepEqual(logits(kept.model), want);
    // Saved again (a reward model normalized in place, say), it still names the first base.
    saveCheckpoint(dir, kept.model);
    assert.equal(JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')).base_model_name_or_path, base);
    assert.throws(() => saveCheckpoint(base, kept.model), /cannot be saved over its own base model/);
  });

  it("keeps a reward model's score head as modules_to_save and PPO's value head beside the adapter", () => {
    const { base, model } = adaptedModel(['c_attn', 'mlp.c_proj']);
    const score = rewardHead(32, 5),
      value = valueHead(32, 6);
    const rdir = tmp(),
      pdir = tmp();
    saveCheckpoint(rdir, model, { heads: [score], meta: { kind: 'reward', rewardBias: 0.25 } });
    const cfg = JSON.parse(readFileSync(join(rdir, 'adapter_config.json'), 'utf8'));
    assert.equal(cfg.task_type, 'SEQ_CLS');
    assert.deepEqual(cfg.modules_to_save, ['score']);
    assert.deepEqual(cfg.target_modules, ['c_attn', 'mlp.c_proj']);
    const names = [...readSafetensors(join(rdir, 'adapter_model.safetensors')).tensors.keys()];
    assert.ok(names.includes('base_model.model.score.weight'));
    const r = loadCheckpoint(rdir);
    assert.deepEqual(r.heads.get('score')!.weight.data, score.weight.data);
    assert.equal(r.meta.rewardBias, 0.25);

    saveCheckpoint(pdir, model, { heads: [value] });
    const p = loadCheckpoint(pdir);
    assert.equal(JSON.parse(readFileSync(join(pdir, 'adapter_config.json'), 'utf8')).task_type, 'CAUSAL_LM');
    assert.deepEqual(p.heads.get('v_head.summary')!.bias!.data, value.bias!.data);
    // Resuming: the saved adapter and heads go back into a model with the same adapters attached.
    const again = loadCheckpoint(base).model;
    attachLora(again, { rank: 4, alpha: 16, dropout: 0.05, targets: ['c_attn', 'mlp.c_proj'] });
    const head = valueHead(32, 99);
    restoreAdapterCheckpoint(pdir, again, [head]);
    assert.deepEqual(logits(again), logits(model));
    assert.deepEqual(head.weight.data, value.weight.data);
  });

  it('an adapter on an adapter: the base adapter is merged first', () => {
    const { model } = adaptedModel();
    const first = tmp(),
      second = tmp();
    saveCheckpoint(first, model);
    const sft = loadCheckpoint(first).model;
    attachLora(sft, { rank: 2, alpha: 2, dropout: 0, targets: ['c_fc'] });
    for (const p of loraParams(sft)) p.data.fill(0.1);
    const want = logits(sft);
    saveCheckpoint(second, sft);
    assert.equal(JSON.parse(readFileSync(join(second, 'adapter_config.json'), 'utf8')).base_model_name_or_path, first);
    assert.ok(maxDiff(logits(loadCheckpoint(second).model), want) < 1e-5);
  });

  it('refuses what it cannot apply, naming the field', () => {
    const { model } = adaptedModel();
    const dir = tmp();
    saveCheckpoint(dir, model);
    const path = join(dir, 'adapter_config.json');
    const cfg = JSON.parse(readFileSync(path, 'utf8'));
    const refused = (patch: Record<string, unknown>, re: RegExp) => {
      writeFileSync(path, JSON.stringify({ ...cfg, ...patch }));
      assert.throws(() => loadCheckpoint(dir), re);
    };
    refused({ use_dora: true }, /"use_dora" is true; DoRA is not supported/);
    refused({ peft_type: 'IA3' }, /"peft_type" is "IA3"; only LoRA/);
    refused({ target_modules: ['q_proj'] }, /"q_proj" matches no module of this gpt2 model/);
    refused(
      { base_model_name_or_path: '/nowhere/base' },
      /base_model_name_or_path "\/nowhere\/base" is not a directory/,
    );
    refused({ r: 8 }, /lora_A\.weight has shape \[4, 32\], the model needs \[8, 32\]/);
    writeFileSync(path, JSON.stringify(cfg));
    const again = loadCheckpoint(cfg.base_model_name_or_path).model;
    attachLora(again, { rank: 8, alpha: 16, dropout: 0, targets: [] });
    assert.throws(() => restoreAdapterCheckpoint(dir, again), /saved with LoRA rank 4 and alpha 16, not 8 and 16/);
  });

  it(
    "PEFT's semantics, applied in PyTorch to our files, give the adapted model's logits",
    { skip: python ? false : 'PyTorch not installed (apt-get install python3-torch)' },
    () => {
      const cases = [
        { targets: ['c_attn', 'mlp.c_proj'], heads: [] },
        { targets: 'all-linear', heads: [rewardHead(32, 1)] },
        { targets: [], heads: [], config: llama },
        { targets: 'all-linear', heads: [rewardHead(32, 1)], config: llama },
      ];
      const runs = cases.map(({ targets, heads, config }) => {
        const { model } = adaptedModel(targets, 4, config);
        const dir = tmp();
        saveCheckpoint(dir, model, { heads });
        return { dir, got: logits(model) };
      });
      const r = spawnSync(python!, ['tests/interop/peft_lora.py', ...runs.map((x) => x.dir)], {
        input: JSON.stringify({ ids }),
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const all = JSON.parse(r.stdout).logits as number[][][][];
      runs.forEach(({ got }, k) => {
        const want = all[k].flat(2);
        assert.equal(got.length, want.length);
        for (let i = 0; i < got.length; i++)
          assert.ok(
            Math.abs(got[i] - want[i]) < 1e-4 * (1 + Math.abs(want[i])),
            `case ${k} logit ${i}: ${got[i]} vs ${want[i]}`,
          );
      });
    },
  );
});
