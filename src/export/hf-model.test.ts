// `rlhf export model`: the Hugging Face layout, read back by our loader, by GPT-2's original
// tokenizer-file reader, and by PyTorch (src/export/hf-layout-check.py, which checks the layout
// as transformers expects it and computes the logits or reward scores; skipped where PyTorch is
// missing).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderCompletion, renderPrompt } from '../data/formats/chat.js';
import { Graph } from '../engine/graph.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { presetConfig } from '../model/config.js';
import type { CausalLM } from '../model/causal-lm.js';
import { createModel } from '../model/create-model.js';
import { valueHead } from '../model/heads.js';
import { encodeForReward, RewardModel } from '../model/reward-model.js';
import { readSafetensors, toFloat32 } from '../model/safetensors.js';
import { scoreRewards } from '../runtime/reward.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { toBF16 } from '../model/half.js';
import { exportModel } from './hf-model.js';
import { assertAllClose } from '../test-support/assert-close.js';

const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
// As src/model/interop.test.ts: skipped, with its reason, where PyTorch is missing.
const skipPython = python ? false : 'PyTorch not installed (apt-get install python3-torch)';
// The chat template is rendered as transformers renders it, with jinja2 (Debian python3-jinja2).
const hasJinja = !!python && spawnSync(python, ['-c', 'import jinja2'], { stdio: 'ignore' }).status === 0;
const skipJinja = skipPython || (hasJinja ? false : 'jinja2 not installed (apt-get install python3-jinja2)');

const CORPUS = [
  'The cat sat on the mat. The dog sat on the log. ',
  'Human: what is rain? Assistant: water falling from clouds. ',
  'naïve café 🙂 1234 ',
];
const tok = Tokenizer.train(
  CORPUS.map((s) => s.repeat(5)),
  { vocabSize: 300 },
);
const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-export-model-'));
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

function trunk(vocabSize = tok.vocabSize, seed = 5): CausalLM {
  const m = createModel(presetConfig('tiny', { vocabSize, nPositions: 32, eosTokenId: tok.eosId }), seed);
  // beyond the init
  for (const p of m.params) for (let i = 0; i < p.size; i++) p.data[i] += 0.05 * Math.sin(i * 0.7 + p.size);
  return m;
}

function runCheck(
  dir: string,
  input: object,
): { errors: string[]; kind: string; logits?: number[][][]; scores?: number[]; chat?: string[] | null } {
  const r = spawnSync(python!, ['src/export/hf-layout-check.py', dir], {
    input: JSON.stringify(input),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const TORCH_TOL = { atol: 1e-4, rtol: 1e-4 }; // our float32 forward against PyTorch's float64 one

describe('export model: policy', () => {
  const src = tmp(),
    out = tmp();
  const model = trunk();
  saveCheckpoint(src, model, {
    tokenizer: tok,
    heads: [valueHead(model.config.nEmbd, 1)],
    meta: { kind: 'policy', trainer: 'ppo' },
  });
  const r = exportModel(loadCheckpoint(src), out);

  it('writes GPT2LMHeadModel with GPT-2 tensor names, no value head, and the tokenizer files', () => {
    assert.equal(r.kind, 'policy');
    assert.deepEqual(r.dropped, ['v_head.summary']);
    assert.equal(r.padTokenId, null);
    assert.deepEqual(r.files, [
      'model.safetensors',
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'vocab.json',
      'merges.txt',
      'tokenizer_config.json',
      'special_tokens_map.json',
    ]);
    const { tensors, metadata } = readSafetensors(join(out, 'model.safetensors'));
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual([...tensors.keys()].sort(), model.params.map((p) => p.name).sort());
    for (const p of model.params) assert.deepEqual(tensors.get(p.name)!.data, p.data);
    const cfg = readJson(join(out, 'config.json'));
    assert.deepEqual(cfg.architectures, ['GPT2LMHeadModel']);
    assert.equal(cfg.model_type, 'gpt2');
    assert.equal(cfg.torch_dtype, 'float32');
    assert.equal(cfg.eos_token_id, tok.eosId);
    assert.equal(cfg.pad_token_id, undefined);
    assert.deepEqual(readJson(join(out, 'generation_config.json')), {
      _from_model_config: true,
      bos_token_id: tok.eosId,
      eos_token_id: tok.eosId,
    });
    const tc = readJson(join(out, 'tokenizer_config.json'));
    assert.equal(tc.tokenizer_class, 'GPT2Tokenizer');
    assert.equal(tc.eos_token, '<|endoftext|>');
    assert.equal(tc.pad_token, null);
    assert.equal(tc.model_max_length, 32);
    assert.deepEqual(readJson(join(out, 'special_tokens_map.json')), {
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
    });
  });

  it('warns when vLLM cannot take the head size', () => {
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /head size 16 .* not one vLLM's attention kernels take/);
  });

  it('loads back here, and vocab.json + merges.txt tokenize exactly like tokenizer.json', () => {
    const back = loadCheckpoint(out);
    back.model.params.forEach((p, i) => assert.deepEqual(p.data, model.params[i].data));
    const gpt2 = Tokenizer.fromGPT2Files(join(out, 'vocab.json'), join(out, 'merges.txt'));
    for (const text of [...CORPUS, 'unseen wörds, 42!']) {
      assert.deepEqual(back.tokenizer!.encode(text), tok.encode(text));
      assert.deepEqual(gpt2.encode(text), tok.encode(text));
    }
    assert.equal(gpt2.eosId, tok.eosId);
  });

  it('PyTorch finds the layout transformers expects and computes the same logits', { skip: skipPython }, () => {
    const enc = [tok.encode('The cat sat on the mat.'), tok.encode('naïve café 1234, the dog')];
    const T = Math.min(...enc.map((s) => s.length));
    const ids = enc.map((s) => s.slice(0, T));
    const res = runCheck(out, { ids });
    assert.deepEqual(res.errors, []);
    assert.equal(res.kind, 'policy');
    const g = Graph.inference();
    const ours = model.forward(g, Int32Array.from(ids.flat()), 2, T).data;
    const theirs = res.logits!.flat(2);
    assertAllClose(ours, theirs, TORCH_TOL, 'logits');
    g.dispose();
  });

  it(
    'the chat template renders messages as our HH texts (jinja2, as transformers runs it)',
    { skip: skipJinja },
    () => {
      const messages = [
        { role: 'system' as const, content: 'Be brief.' },
        { role: 'user' as const, content: 'What is rain?' },
        { role: 'assistant' as const, content: 'Water.' },
        { role: 'user' as const, content: 'And snow?' },
      ];
      const res = runCheck(out, {
        chat: [
          { messages, add_generation_prompt: true },
          { messages: [...messages, { role: 'assistant', content: 'Ice.' }] },
        ],
      });
      // apply_chat_template(prompt, add_generation_prompt) is our prompt text, and the full
      // conversation is prompt + completion: trainers that slice the completion off get ours.
      const prompt = renderPrompt(messages);
      assert.deepEqual(res.chat, [prompt, prompt + renderCompletion([{ role: 'assistant', content: 'Ice.' }], 'c')]);
    },
  );

  it('writes bfloat16 weights that load back here and pass the layout check', { skip: skipPython }, () => {
    const o16 = tmp();
    exportModel(loadCheckpoint(src), o16, { dtype: 'bfloat16' });
    const { tensors } = readSafetensors(join(o16, 'model.safetensors'));
    for (const t of tensors.values()) assert.equal(t.dtype, 'BF16');
    assert.equal(readJson(join(o16, 'config.json')).torch_dtype, 'bfloat16');
    const back = loadCheckpoint(o16);
    back.model.params.forEach((p, i) => {
      assert.deepEqual(p.data, toFloat32({ dtype: 'BF16', shape: [...p.shape], data: toBF16(model.params[i].data) }));
    });
    assert.deepEqual(runCheck(o16, {}).errors, []);
  });

  it('shards above --max-shard-size as save_pretrained, and PyTorch gets the same logits', { skip: skipPython }, () => {
    const sharded = tmp();
    const r = exportModel(loadCheckpoint(src), sharded, { dtype: 'bfloat16', maxShardBytes: 15_000 });
    const shards = r.files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    assert.ok(shards.length >= 3, r.files.join(', '));
    assert.ok(r.files.includes('model.safetensors.index.json') && !r.files.includes('model.safetensors'));
    const back = loadCheckpoint(sharded);
    back.model.params.forEach((p, i) => {
      assert.deepEqual(p.data, toFloat32({ dtype: 'BF16', shape: [...p.shape], data: toBF16(model.params[i].data) }));
    });
    const ids = [tok.encode('The cat sat on the mat.')];
    const res = runCheck(sharded, { ids });
    assert.deepEqual(res.errors, []);
    const g = Graph.inference();
    const ours = back.model.forward(g, Int32Array.from(ids[0]), 1, ids[0].length).data;
    assertAllClose(ours, res.logits!.flat(2), TORCH_TOL, 'logits of the sharded bfloat16 export');
    g.dispose();
  });

  it('refuses to overwrite the checkpoint, a reward export of a policy, and a checkpoint without tokenizer', () => {
    assert.throws(() => exportModel(loadCheckpoint(src), src), /is the checkpoint itself/);
    assert.throws(
      () => exportModel(loadCheckpoint(src), tmp(), { kind: 'reward' }),
      /--kind reward needs a reward model .* heads v_head\.summary/,
    );
    const bare = tmp();
    saveCheckpoint(bare, model);
    assert.throws(() => exportModel(loadCheckpoint(bare), tmp()), /has no tokenizer\.json; AutoTokenizer needs one/);
  });
});

describe('export model: reward', () => {
  const items = [
    { prompt: 'The cat', completion: ' sat on the mat.' },
    { prompt: 'Human: what is rain? Assistant:', completion: ' water' },
    { prompt: '', completion: 'naïve' },
  ];

  it('writes GPT2ForSequenceClassification with its own pad token, and scores as here', { skip: skipPython }, () => {
    const src = tmp(),
      out = tmp();
    const rm = RewardModel.fromTrunk(trunk(), tok, 32, 3);
    rm.bias = 0.25;
    rm.save(src);
    const r = exportModel(loadCheckpoint(src), out);
    assert.equal(r.kind, 'reward');
    // The tokenizer fills the vocabulary, so the pad token gets a new (zero) embedding row.
    assert.equal(r.padTokenId, tok.vocabSize);
    assert.equal(r.vocabSize, tok.vocabSize + 1);
    assert.ok(r.files.includes('added_tokens.json') && !r.files.includes('generation_config.json'));
    const cfg = readJson(join(out, 'config.json'));
    assert.deepEqual(cfg.architectures, ['GPT2ForSequenceClassification']);
    assert.equal(cfg.num_labels, 1);
    assert.deepEqual(cfg.id2label, { 0: 'LABEL_0' });
    assert.equal(cfg.pad_token_id, tok.vocabSize);
    assert.equal(cfg.vocab_size, tok.vocabSize + 1);
    assert.equal(cfg.value_head_prefix, 'score');
    assert.equal(cfg.mean, 0.25);
    assert.equal(readJson(join(out, 'tokenizer_config.json')).pad_token, '<|pad|>');
    assert.deepEqual(readJson(join(out, 'added_tokens.json')), { '<|pad|>': tok.vocabSize });

    // Our loader reads the export as the same reward model.
    assert.deepEqual(scoreRewards(RewardModel.load(out), items), scoreRewards(rm, items));

    // PyTorch, reading like GPT2ForSequenceClassification (the last token that is not padding),
    // gets our raw scores (before the centering bias) from a right-padded batch.
    const seqs = items.map((it) => encodeForReward(tok, it.prompt, it.completion, 32));
    const T = Math.max(...seqs.map((s) => s.length));
    const ids = seqs.map((s) => [...s, ...Array(T - s.length).fill(r.padTokenId)]);
    const res = runCheck(out, { ids });
    assert.deepEqual(res.errors, []);
    assert.equal(res.kind, 'reward');
    const ours = scoreRewards(rm, items).map((x) => x + rm.bias);
    assertAllClose(res.scores!, ours, TORCH_TOL, 'reward scores');
  });

  it('puts the pad token on a spare embedding row when the vocabulary has one', () => {
    const src = tmp(),
      out = tmp();
    RewardModel.fromTrunk(trunk(tok.vocabSize + 4), tok, 32, 3).save(src);
    const r = exportModel(loadCheckpoint(src), out);
    assert.equal(r.padTokenId, tok.vocabSize);
    assert.equal(r.vocabSize, tok.vocabSize + 4);
    assert.deepEqual(readSafetensors(join(out, 'model.safetensors')).tensors.get('transformer.wte.weight')!.shape, [
      tok.vocabSize + 4,
      32,
    ]);
  });

  it("exports a reward model's trunk as a policy when asked", () => {
    const src = tmp(),
      out = tmp();
    RewardModel.fromTrunk(trunk(), tok, 32, 3).save(src);
    const r = exportModel(loadCheckpoint(src), out, { kind: 'policy' });
    assert.deepEqual(r.dropped, ['score']);
    assert.equal(readSafetensors(join(out, 'model.safetensors')).tensors.has('score.weight'), false);
    assert.deepEqual(readJson(join(out, 'config.json')).architectures, ['GPT2LMHeadModel']);
  });
});
