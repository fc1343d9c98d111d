// A checkpoint written here, read by PyTorch (tests/interop/torch_logits.py, which implements
// Hugging Face's GPT-2 on the raw safetensors): the same logits. Skipped where PyTorch is missing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { saveCheckpoint } from './checkpoint.js';
import { presetConfig } from './config.js';
import { createModel } from './create-model.js';

const python = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);

describe('interoperability with PyTorch', () => {
  it(
    'PyTorch reads our checkpoint and computes the same logits',
    { skip: python ? false : 'PyTorch not installed (apt-get install python3-torch)' },
    () => {
      const model = createModel(presetConfig('tiny', { vocabSize: 64, nPositions: 16 }), 7);
      // beyond the init
      for (const p of model.params) for (let i = 0; i < p.size; i++) p.data[i] += 0.05 * Math.sin(i + p.size);
      const dir = mkdtempSync(join(tmpdir(), 'rlhf-interop-'));
      saveCheckpoint(dir, model);
      const ids = [
        [1, 5, 9, 2, 63, 0, 7],
        [3, 3, 3, 40, 41, 42, 8],
      ];
      const r = spawnSync(python!, ['tests/interop/torch_logits.py', dir], {
        input: JSON.stringify({ ids }),
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const want = (JSON.parse(r.stdout).logits as number[][][]).flat(2);
      const g = Graph.inference();
      const got = model.forward(g, Int32Array.from(ids.flat()), 2, 7).data;
      assert.equal(got.length, want.length);
      for (let i = 0; i < got.length; i++)
        assert.ok(Math.abs(got[i] - want[i]) < 1e-4 * (1 + Math.abs(want[i])), `logit ${i}: ${got[i]} vs ${want[i]}`);
      g.dispose();
    },
  );
});
