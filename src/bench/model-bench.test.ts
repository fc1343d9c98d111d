import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { presetConfig } from '../model/config.js';
import { toHFConfig } from '../model/hf-config.js';
import { runModelBench } from './model-bench.js';

describe('rlhf bench --model', () => {
  it('times LoRA training beside full training, on the adapters only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-model-bench-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(toHFConfig(presetConfig('tiny'))));
    const lines: string[] = [];
    const r = await runModelBench(
      {
        dir,
        batch: 2,
        seq: 16,
        steps: 1,
        warmup: 0,
        sampleBatch: 1,
        prompt: 4,
        newTokens: 2,
        torch: false,
        threads: 1,
        skipFull: false,
        loraRank: 2,
        loraTargets: ['all-linear'],
      },
      (m) => lines.push(m),
    );
    assert.ok(r.train_tokens_per_s! > 0 && r.lora_train_tokens_per_s! > 0, JSON.stringify(r));
    assert.ok(
      lines.some((l) => /training \(LoRA r=2\) .* 2,048 trained parameters/.test(l)),
      lines.join('\n'),
    );
  });

  it('takes a config.json alone (a real model shape, random weights), as bench/shapes/*.json', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rlhf-model-bench-')), 'qwen3-shape.json');
    const qwen3 = {
      model_type: 'qwen3',
      vocab_size: 300,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 16,
      max_position_embeddings: 64,
      eos_token_id: 1,
    };
    writeFileSync(file, JSON.stringify(qwen3));
    const o = { batch: 1, seq: 8, steps: 1, warmup: 0, sampleBatch: 1, prompt: 2, newTokens: 2, torch: false };
    const r = await runModelBench({ ...o, dir: file, threads: 1, skipFull: true }, () => {});
    assert.equal(r.family, 'qwen3');
    assert.equal(r.train_tokens_per_s, undefined, '--skip-full');
    assert.ok(r.sample_tokens_per_s > 0 && r.score_tokens_per_s > 0);
  });
});
