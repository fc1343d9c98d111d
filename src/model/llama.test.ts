// The Llama family in TypeScript alone: KV-cache decoding equals the full forward, checkpoints round-trip
// exactly in Hugging Face's names, and damaged checkpoints are refused naming the file and the tensor.
// (Logits and gradients against PyTorch: llama-interop.test.ts.)

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { assertAllClose } from '../test-support/assert-close.js';
import type { CausalLM } from './causal-lm.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type ModelConfig, countParameters } from './config.js';
import { createModel } from './create-model.js';
import { rewardHead, valueHead } from './heads.js';
import { KVCache } from './kv-cache.js';
import { Llama } from './llama.js';
import { readSafetensorsF32, writeSafetensors } from './safetensors.js';

const base = { vocabSize: 64, nPositions: 32, nEmbd: 16, nHead: 4, nLayer: 2, layerNormEps: 1e-6, eosTokenId: 1 };
const CONFIGS: Record<string, ModelConfig> = {
  llama: {
    ...base,
    family: 'llama',
    nKvHead: 2,
    intermediateSize: 24,
    bosTokenId: 0,
    eosTokenIds: [1, 5],
    ropeScaling: { type: 'llama3', factor: 4, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 },
  },
  qwen2: { ...base, family: 'qwen2', nKvHead: 1, intermediateSize: 24, ropeTheta: 1e6, tieWordEmbeddings: true },
  qwen3: { ...base, family: 'qwen3', nKvHead: 2, headDim: 8, intermediateSize: 24, attentionBias: true },
};

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rlhf-llama-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Logits (T, V) of one sequence, by the full forward. */
function fullLogits(model: CausalLM, seq: number[]): Float32Array {
  const g = Graph.inference();
  const out = Float32Array.from(model.forward(g, Int32Array.from(seq), 1, seq.length).data);
  g.dispose();
  return out;
}

describe('Llama family: KV-cache decoding', () => {
  for (const [family, config] of Object.entries(CONFIGS)) {
    it(`${family}: prefill of rows of different lengths, chunks and token-at-a-time equal the full forward`, () => {
      const model = createModel(config, 3);
      const V = config.vocabSize;
      const seqs = [
        [3, 9, 27, 17, 51, 25, 11, 33, 50, 22],
        [8, 4, 2, 60, 6, 12, 7, 13, 40, 41, 42, 43],
      ];
      const want = seqs.map((s) => fullLogits(model, s));
      const cache = KVCache.forModel(config, 3);
      const g = Graph.inference();
      const check = (row: number, from: number, logits: Float32Array) =>
        assertAllClose(logits, want[row].subarray(from * V, from * V + logits.length), 1e-5, `row ${row} at ${from}`);
      // Prefill: row 0 (cache row 2) with 3 tokens, row 1 (cache row 0) with 5: each its own length.
      const rows = [2, 0];
      const pre = [3, 5];
      seqs.forEach((s, b) => {
        const out = model.forward(g, Int32Array.from(s.slice(0, pre[b])), 1, pre[b], { cache, rows: [rows[b]] });
        check(b, 0, out.data);
      });
      // A chunk of 2 tokens for both rows at once (positions differ per row), then one token at a time.
      let pos = [...pre];
      const step = (T: number) => {
        const ids = Int32Array.from(seqs.flatMap((s, b) => s.slice(pos[b], pos[b] + T)));
        const out = model.forward(g, ids, 2, T, { cache, rows }).data;
        seqs.forEach((_, b) => check(b, pos[b], out.subarray(b * T * V, (b + 1) * T * V)));
        pos = pos.map((p) => p + T);
      };
      step(2);
      while (pos[0] < seqs[0].length) step(1);
      assert.deepEqual(Array.from(cache.len), [pos[1], 0, pos[0]]);
      g.dispose();
    });
  }

  it('refuses positions beyond max_position_embeddings, naming it', () => {
    const model = createModel(CONFIGS.qwen2, 1);
    const g = Graph.inference();
    assert.throws(() => model.forward(g, new Int32Array(33), 1, 33), /max_position_embeddings\) is 32/);
    assert.throws(() => model.forward(g, Int32Array.from([64]), 1, 1), /token id 64 .* outside the vocabulary/);
    g.dispose();
  });
});

describe('Llama family: parameters', () => {
  it("has Hugging Face's names and shapes, counted by countParameters; every projection is a Linear", () => {
    const m = createModel(CONFIGS.qwen3, 0) as Llama;
    const shape = (n: string) => m.param(n).shape;
    assert.deepEqual(shape('model.embed_tokens.weight'), [64, 16]);
    assert.deepEqual(shape('model.layers.1.self_attn.q_proj.weight'), [32, 16]);
    assert.deepEqual(shape('model.layers.1.self_attn.q_proj.bias'), [32]);
    assert.deepEqual(shape('model.layers.1.self_attn.k_proj.weight'), [16, 16]);
    assert.deepEqual(shape('model.layers.1.self_attn.o_proj.weight'), [16, 32]);
    assert.deepEqual(shape('model.layers.1.self_attn.q_norm.weight'), [8]);
    assert.deepEqual(shape('model.layers.0.mlp.down_proj.weight'), [16, 24]);
    assert.deepEqual(shape('lm_head.weight'), [64, 16]);
    assert.equal(m.linears.length, 2 * 7);
    assert.ok(m.linears.every((l) => l.outIn && m.params.includes(l.weight)));
    for (const c of Object.values(CONFIGS)) {
      const model = createModel(c, 0);
      assert.equal(
        countParameters(c),
        model.params.reduce((n, p) => n + p.size, 0),
        c.family,
      );
    }
    const tied = createModel(CONFIGS.qwen2, 0);
    assert.ok(!tied.params.some((p) => p.name === 'lm_head.weight'));
    assert.ok(!tied.params.some((p) => p.name.endsWith('o_proj.bias')));
    assert.ok(tied.params.some((p) => p.name.endsWith('v_proj.bias')));
  });
});

describe('Llama family: checkpoints', () => {
  for (const [family, config] of Object.entries(CONFIGS)) {
    it(`${family}: save → load round-trips config, weights and heads exactly`, () => {
      const model = createModel(config, 5);
      for (const p of model.params) for (let i = 0; i < p.size; i++) p.data[i] += Math.cos(i * 0.37) * 0.1;
      const dir = tempDir();
      saveCheckpoint(dir, model, { heads: [rewardHead(config.nEmbd, 2), valueHead(config.nEmbd, 3)] });
      const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      assert.equal(hf.model_type, family);
      assert.deepEqual(hf.architectures, [`${family[0].toUpperCase()}${family.slice(1)}ForSequenceClassification`]);
      assert.equal(hf.num_labels, 1);
      assert.equal(hf.pad_token_id, config.eosTokenId);
      const ck = loadCheckpoint(dir);
      assert.deepEqual(ck.model.config, { ...config, ...hfDefaults(family, config) });
      assert.deepEqual(
        ck.model.params.map((p) => p.name),
        model.params.map((p) => p.name),
      );
      ck.model.params.forEach((p, i) => assert.deepEqual(p.data, model.params[i].data, p.name));
      assert.deepEqual(ck.heads.get('score')!.weight.data, rewardHead(config.nEmbd, 2).weight.data);
      assert.ok(ck.heads.has('v_head.summary'));
      const ids = [5, 6, 7, 8];
      assert.deepEqual(fullLogits(ck.model, ids), fullLogits(model, ids));
    });
  }

  it('a tied checkpoint may carry or omit lm_head.weight; an untied one loads its own', () => {
    const tiedDir = tempDir();
    const tied = createModel(CONFIGS.qwen2, 1);
    saveCheckpoint(tiedDir, tied);
    const file = join(tiedDir, 'model.safetensors');
    assert.ok(!readSafetensorsF32(file).tensors.has('lm_head.weight'));
    const withHead = Object.fromEntries(readSafetensorsF32(file).tensors);
    withHead['lm_head.weight'] = withHead['model.embed_tokens.weight'];
    writeSafetensors(file, withHead);
    assert.deepEqual(fullLogits(loadCheckpoint(tiedDir).model, [1, 2]), fullLogits(tied, [1, 2]));

    const untied = createModel(CONFIGS.llama, 2);
    const dir = tempDir();
    saveCheckpoint(dir, untied);
    const loaded = loadCheckpoint(dir).model;
    assert.deepEqual(loaded.param('lm_head.weight').data, untied.param('lm_head.weight').data);
    assert.notDeepEqual(loaded.param('lm_head.weight').data, loaded.param('model.embed_tokens.weight').data);
  });

  it('refuses missing, unexpected and misshaped tensors, naming the file and the tensor', () => {
    const dir = tempDir();
    saveCheckpoint(dir, createModel(CONFIGS.llama, 1));
    const file = join(dir, 'model.safetensors');
    const good = Object.fromEntries(readSafetensorsF32(file).tensors);
    const attempt = (tensors: Record<string, { shape: number[]; data: Float32Array }>) => {
      writeSafetensors(file, tensors);
      return () => loadCheckpoint(dir);
    };
    const { 'lm_head.weight': _head, ...noHead } = good;
    assert.throws(
      attempt(noHead),
      (e: Error) => e.message.includes(file) && /missing tensors lm_head\.weight/.test(e.message),
    );
    const extra = {
      ...good,
      'model.layers.0.self_attn.rotary_emb.inv_freq': { shape: [2], data: new Float32Array(2) },
    };
    assert.doesNotThrow(attempt(extra)); // a buffer old transformers versions saved
    const unknown = { ...good, 'model.layers.9.mlp.up_proj.weight': good['model.layers.0.mlp.up_proj.weight'] };
    assert.throws(attempt(unknown), /unexpected tensor "model\.layers\.9\.mlp\.up_proj\.weight"/);
    const bad = { ...good, 'model.norm.weight': { shape: [8], data: new Float32Array(8) } };
    assert.throws(attempt(bad), /tensor model\.norm\.weight has shape \[8\], config\.json implies \[16\]/);
    // The same weights (lm_head ≠ embedding) under a config.json that ties them.
    writeSafetensors(file, good);
    const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...hf, tie_word_embeddings: true }));
    assert.throws(() => loadCheckpoint(dir), /lm_head\.weight differs from the token embedding/);
  });

  it('an untied reward model without lm_head (as transformers saves *ForSequenceClassification) loads', () => {
    const dir = tempDir();
    const model = createModel(CONFIGS.llama, 4);
    saveCheckpoint(dir, model, { heads: [rewardHead(16, 1)] });
    const file = join(dir, 'model.safetensors');
    const { 'lm_head.weight': _head, ...rest } = Object.fromEntries(readSafetensorsF32(file).tensors);
    writeSafetensors(file, rest);
    const ck = loadCheckpoint(dir);
    assert.ok(ck.heads.has('score'));
    assert.deepEqual(ck.model.param('model.norm.weight').data, model.param('model.norm.weight').data);
  });
});

/** What a config gains by going through config.json: the defaults Hugging Face's config classes fill in. */
function hfDefaults(family: string, c: ModelConfig): Partial<ModelConfig> {
  const out: Partial<ModelConfig> = {
    nKvHead: c.nKvHead,
    headDim: c.headDim ?? c.nEmbd / c.nHead,
    ropeTheta: c.ropeTheta ?? 10000,
    ropeScaling: c.ropeScaling ?? null,
    tieWordEmbeddings: c.tieWordEmbeddings ?? false,
    eosTokenIds: c.eosTokenIds ?? [c.eosTokenId],
  };
  if (family === 'llama') Object.assign(out, { attentionBias: false, mlpBias: false });
  if (family === 'qwen3') out.attentionBias = c.attentionBias ?? false;
  return out;
}
