// `rlhf info` names the architecture of a checkpoint of each family.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { saveCheckpoint } from '../model/checkpoint.js';
import { presetConfig } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { checkpointInfo } from './info.js';

describe('rlhf info', () => {
  it('shows family, layers, heads and key/value heads, head width and parameters', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-info-'));
    try {
      const qwen3 = {
        ...presetConfig('tiny'),
        family: 'qwen3' as const,
        nKvHead: 1,
        headDim: 8,
        intermediateSize: 48,
      };
      const model = createModel(qwen3, 0);
      saveCheckpoint(join(dir, 'q'), model, { meta: { kind: 'sft' } });
      const info = checkpointInfo(join(dir, 'q'));
      assert.deepEqual(
        [info.family, info.layers, info.heads, info.kvHeads, info.headDim, info.parameters],
        ['qwen3', 2, 2, 1, 8, model.params.reduce((n, p) => n + p.size, 0)],
      );
      assert.equal((info.rlhf as { kind: string }).kind, 'sft');
      saveCheckpoint(join(dir, 'g'), createModel(presetConfig('tiny'), 0));
      const gpt2 = checkpointInfo(join(dir, 'g'));
      assert.deepEqual([gpt2.family, gpt2.kvHeads, gpt2.headDim], ['gpt2', 2, 16]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
