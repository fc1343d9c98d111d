// config.json of real models (the fields their Hugging Face pages publish) read into our config, with
// the parameter counts those models have; what we write back reads the same; and every value we cannot
// run is refused naming its field and value.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countParameters, headDimOf, kvHeadsOf, presetConfig } from './config.js';
import { fromHFConfig, toHFConfig } from './hf-config.js';

const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  rope_scaling: null,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  attention_bias: false,
  mlp_bias: false,
  pretraining_tp: 1,
  bos_token_id: 1,
  eos_token_id: 2,
  torch_dtype: 'bfloat16',
};
const LLAMA_32_1B = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 8192,
  num_hidden_layers: 16,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  head_dim: 64,
  vocab_size: 128256,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000,
  rope_scaling: {
    factor: 32,
    high_freq_factor: 4,
    low_freq_factor: 1,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  tie_word_embeddings: true,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
};
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  sliding_window: 32768,
  use_sliding_window: false,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 151643,
  eos_token_id: 151645,
};
const QWEN3_06B = {
  architectures: ['Qwen3ForCausalLM'],
  model_type: 'qwen3',
  hidden_size: 1024,
  intermediate_size: 3072,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 128,
  vocab_size: 151936,
  max_position_embeddings: 40960,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  attention_bias: false,
  tie_word_embeddings: true,
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
};
const TINYLLAMA = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 2048,
  intermediate_size: 5632,
  num_hidden_layers: 22,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  vocab_size: 32000,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
};

describe('Hugging Face config.json of the Llama family', () => {
  it('reads real models and counts their parameters as published', () => {
    const cases: [string, object, number][] = [
      ['SmolLM2-135M', SMOLLM2_135M, 134_515_008],
      ['Llama-3.2-1B', LLAMA_32_1B, 1_235_814_400],
      ['Qwen2.5-0.5B', QWEN25_05B, 494_032_768],
      ['Qwen3-0.6B', QWEN3_06B, 596_049_920],
      ['TinyLlama-1.1B', TINYLLAMA, 1_100_048_384],
    ];
    for (const [name, j, n] of cases) assert.equal(countParameters(fromHFConfig(j as never, name)), n, name);
    const llama = fromHFConfig(LLAMA_32_1B);
    assert.equal(llama.family, 'llama');
    assert.equal(kvHeadsOf(llama), 8);
    assert.equal(llama.eosTokenId, 128001);
    assert.deepEqual(llama.eosTokenIds, [128001, 128008, 128009]);
    assert.equal(llama.bosTokenId, 128000);
    assert.deepEqual(llama.ropeScaling, {
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    assert.equal(fromHFConfig(SMOLLM2_135M).layerNormEps, 1e-5);
    assert.equal(fromHFConfig(TINYLLAMA).tieWordEmbeddings, false);
  });

  it("fills in Hugging Face's defaults: Qwen3's head_dim is 128, Llama's hidden_size / heads; kv heads = heads", () => {
    const { head_dim: _hd, ...qwen3 } = { ...QWEN3_06B, hidden_size: 512, num_attention_heads: 8 };
    assert.equal(headDimOf(fromHFConfig(qwen3)), 128);
    const { head_dim: _hd2, num_key_value_heads: _kv, ...llama } = LLAMA_32_1B;
    const c = fromHFConfig(llama);
    assert.equal(headDimOf(c), 64);
    assert.equal(kvHeadsOf(c), 32);
    const { rms_norm_eps: _e, rope_theta: _t, bos_token_id: _b, eos_token_id: _eos, ...bare } = TINYLLAMA;
    const d = fromHFConfig(bare);
    assert.deepEqual([d.layerNormEps, d.ropeTheta, d.bosTokenId, d.eosTokenId], [1e-6, 10000, 1, 2]);
    assert.equal(fromHFConfig({ ...QWEN25_05B, rope_scaling: { type: 'linear', factor: 4 } }).ropeScaling?.factor, 4);
    assert.equal(fromHFConfig({ ...QWEN25_05B, rope_scaling: { rope_type: 'default' } }).ropeScaling, null);
  });

  it('writes what it reads: toHFConfig → fromHFConfig is the identity, for each family', () => {
    for (const j of [SMOLLM2_135M, LLAMA_32_1B, QWEN25_05B, QWEN3_06B, TINYLLAMA]) {
      const c = fromHFConfig(j);
      const out = toHFConfig(c);
      assert.deepEqual(fromHFConfig(out), c);
      assert.equal(out.model_type, j.model_type);
      assert.deepEqual(out.architectures, j.architectures);
      assert.equal(out.torch_dtype, 'float32');
    }
    assert.deepEqual(toHFConfig(fromHFConfig(LLAMA_32_1B)).rope_scaling, LLAMA_32_1B.rope_scaling);
    assert.deepEqual(toHFConfig(fromHFConfig(LLAMA_32_1B)).eos_token_id, [128001, 128008, 128009]);
    assert.equal(toHFConfig(fromHFConfig(QWEN3_06B)).attention_bias, false);
    // GPT-2 as before
    const gpt2 = presetConfig('tiny');
    assert.equal(toHFConfig(gpt2).model_type, 'gpt2');
    assert.deepEqual(fromHFConfig(toHFConfig(gpt2)), gpt2);
  });

  it('refuses what it cannot run, naming the field and the value', () => {
    const refused: [object, RegExp][] = [
      [
        { ...SMOLLM2_135M, model_type: 'mistral' },
        /model_type is "mistral".*supported model_type values: "gpt2", "llama"/,
      ],
      [{ ...QWEN25_05B, model_type: 'qwen2_moe' }, /model_type is "qwen2_moe"/],
      [{ ...SMOLLM2_135M, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
      [
        { ...LLAMA_32_1B, rope_scaling: { rope_type: 'yarn', factor: 4 } },
        /rope_scaling\.rope_type "yarn" is not supported/,
      ],
      [{ ...LLAMA_32_1B, rope_scaling: { type: 'dynamic', factor: 2 } }, /rope_scaling\.rope_type "dynamic"/],
      [
        { ...LLAMA_32_1B, rope_scaling: { rope_type: 'llama3', factor: 8 } },
        /rope_scaling\.low_freq_factor must be a number/,
      ],
      [{ ...QWEN25_05B, use_sliding_window: true }, /use_sliding_window is true \(layers 21 and on/],
      [{ ...QWEN3_06B, layer_types: ['sliding_attention'] }, /layer_types has "sliding_attention"/],
      [{ ...SMOLLM2_135M, partial_rotary_factor: 0.5 }, /partial_rotary_factor 0\.5 is not supported/],
      [
        { ...SMOLLM2_135M, num_key_value_heads: 2 },
        /num_key_value_heads 2 must be a positive integer that divides num_attention_heads 9/,
      ],
      [
        { ...SMOLLM2_135M, eos_token_id: 49152 },
        /eos_token_id 49152 is outside the vocabulary \[0, vocab_size = 49152\)/,
      ],
      [{ ...QWEN25_05B, eos_token_id: undefined }, /field "eos_token_id" is missing/],
      [{ ...LLAMA_32_1B, eos_token_id: [128001, -1] }, /eos_token_id -1 is outside the vocabulary/],
      [{ ...LLAMA_32_1B, head_dim: 63 }, /head_dim 63 .* must be a positive even integer/],
      [{ ...SMOLLM2_135M, eos_token_id: 'x' }, /field "eos_token_id" must be a number or a list/],
      [{ ...SMOLLM2_135M, intermediate_size: undefined }, /missing field "intermediate_size"/],
      [{ ...SMOLLM2_135M, tie_word_embeddings: 'yes' }, /field "tie_word_embeddings" must be true or false/],
      [
        { ...SMOLLM2_135M, model_type: undefined, architectures: ['MistralForCausalLM'] },
        /architectures is \["MistralForCausalLM"\]/,
      ],
    ];
    for (const [j, re] of refused) assert.throws(() => fromHFConfig(j as never, 'x/config.json'), re);
    assert.throws(
      () => fromHFConfig({ ...SMOLLM2_135M, hidden_act: 'relu' }, 'x/config.json'),
      /^Error: x\/config\.json: /,
    );
    // The use_sliding_window flag alone changes nothing when every layer is below max_window_layers.
    assert.doesNotThrow(() => fromHFConfig({ ...QWEN25_05B, use_sliding_window: true, max_window_layers: 24 }));
    // model_type absent: the architecture decides.
    const { model_type: _mt, ...noType } = QWEN3_06B;
    assert.equal(fromHFConfig(noType).family, 'qwen3');
  });
});
