// The conformance suite (conformance.test.ts) for trainers that sample their own data as they train, so
// have no fixed batch to overfit: their loss and scores are finite, parameters change, the checkpoint
// round-trips exactly and the same seed gives the same run; on GPT-2 and on Llama-family checkpoints.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WorkerPool } from '../engine/parallel.js';
import type { Parameter } from '../engine/tensor.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { defaultOnlineDPOConfig, trainOnlineDPO } from './online-dpo.js';
import { type TestFamily, countA, letterPolicy } from './test-fixtures.js';

// Two threads, whatever the machine has, as conformance.test.ts.
process.env.RLHF_THREADS = '2';
after(() => WorkerPool.shutdown());

const FAMILIES: TestFamily[] = ['gpt2', 'llama', 'qwen3'];
const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-conf-online-'));
const quiet = () => {};
const snapshot = (ps: Parameter[]) => ps.map((p) => Float32Array.from(p.data));

for (const family of FAMILIES) {
  describe(`trainer conformance (${family}): online-dpo (it samples its own pairs: no fixed batch to overfit)`, () => {
    const run = async (seed: number) => {
      const { model, tok } = letterPolicy(60, family);
      const before = snapshot(model.params);
      const outDir = tmp();
      const r = await trainOnlineDPO(
        model,
        tok,
        [' b', ' c'],
        countA,
        {
          ...defaultOnlineDPOConfig,
          outDir,
          steps: 3,
          batchSize: 4,
          maxNewTokens: 4,
          lr: 1e-3,
          warmupSteps: 1,
          seed,
          quiet: true,
        },
        quiet,
      );
      return { r, before, params: snapshot(model.params), outDir };
    };
    it('finite loss and scores, parameters change, the checkpoint round-trips, a seed gives one run', async () => {
      const a = await run(4),
        b = await run(4);
      assert.ok(Number.isFinite(a.r.finalLoss) && a.r.scores.every(Number.isFinite));
      assert.ok(
        a.params.some((p, i) => p.some((v, j) => v !== a.before[i][j])),
        'parameters changed',
      );
      const loaded = loadCheckpoint(a.outDir).model;
      loaded.params.forEach((p, i) => assert.deepEqual(p.data, a.params[i], `${p.name} round-trips`));
      a.params.forEach((p, i) => assert.deepEqual(p, b.params[i]));
      assert.deepEqual(a.r.scores, b.r.scores);
      assert.equal(a.r.finalLoss, b.r.finalLoss);
    });
  });
}
