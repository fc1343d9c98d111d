// One conformance suite that every trainer passes (as Hono runs the same tests over every router):
// the loss is finite, a tiny batch is overfit, parameters change, the checkpoint round-trips exactly,
// and the same seed gives the same run; on GPT-2 and on Llama-family checkpoints.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { Comparison } from '../data/comparison.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { WorkerPool } from '../engine/parallel.js';
import type { Parameter } from '../engine/tensor.js';
import { defaultDPOConfig, trainDPO } from './dpo.js';
import { defaultHindsightConfig, trainHindsight } from './hindsight.js';
import { defaultGRPOConfig, trainGRPO } from './grpo.js';
import { defaultKTOConfig, trainKTO } from './kto.js';
import { defaultPPOConfig, trainPPO } from './ppo.js';
import { defaultRewardConfig } from './reward-config.js';
import { trainRewardModel } from './reward.js';
import { defaultReSTConfig, trainReST } from './rest.js';
import { singleRewardSet } from './reward-fn.js';
import { defaultRLOOConfig, trainRLOO } from './rloo.js';
import { defaultSFTConfig } from './sft-config.js';
import { type TestFamily, countA, familyCheckpoint, letterPolicy } from './test-fixtures.js';
import { trainSFT } from './sft.js';

// Two threads, whatever the machine has: every trainer runs its replicas in a worker thread too (replicas.test.ts).
process.env.RLHF_THREADS = '2';
after(() => WorkerPool.shutdown());

/** GPT-2, and the Llama family: a Llama with grouped-query attention and a Qwen3 (test-fixtures.ts). */
const FAMILIES: TestFamily[] = ['gpt2', 'llama', 'qwen3'];
const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-conf-'));
const quiet = () => {};

/** A tiny set of comparisons: the completion with more "a" wins. */
function tinyComparisons(n: number): Comparison[] {
  const rng = new RNG(5);
  const letters = (pA: number) =>
    Array.from({ length: 3 }, () => ' ' + (rng.uniform() < pA ? 'a' : 'bcde'[rng.int(4)])).join('');
  return Array.from({ length: n }, (_, i) => ({
    prompt: [' b', ' c', ' d'][i % 3],
    completions: [letters(0.9), letters(0)],
    ranking: [0, 1],
  }));
}

interface Run {
  first: number;
  last: number;
  /** The trained parameters, copied. */
  params: Float32Array[];
  /** Parameters before training (to see that they change). */
  before: Float32Array[];
  outDir: string;
  /** Names of the trained parameters (those of `params`), to compare with what loads back. */
  names: string[];
}

const snapshot = (ps: Parameter[]) => ps.map((p) => Float32Array.from(p.data));

/** Every parameter a checkpoint loads back as, model and heads, by name. */
function loadedParams(dir: string): Map<string, Parameter> {
  const ck = loadCheckpoint(dir);
  return new Map([...ck.model.params, ...[...ck.heads.values()].flatMap((h) => h.params)].map((p) => [p.name, p]));
}

interface Trainer {
  name: string;
  /** Trains on a tiny data set for `steps` steps with `seed`. */
  run(seed: number, steps: number): Promise<Run>;
}

/**
 * The trainers on one family: GPT-2 starts SFT and reward models from the tiny preset; the Llama family starts
 * them from a random checkpoint in Hugging Face's layout (--init), as a user's downloaded model.
 */
function trainersOf(family: TestFamily): Trainer[] {
  const init = (texts: string[], vocabSize: number) =>
    family === 'gpt2' ? undefined : familyCheckpoint(family, { texts, vocabSize });
  const policy = () => letterPolicy(60, family);
  return [
    {
      name: 'sft',
      async run(seed, steps) {
        const dir = tmp();
        const records = Array.from({ length: 8 }, (_, i) => ({ prompt: `Q${i % 4}:`, completion: ` answer ${i % 4}` }));
        writeFileSync(join(dir, 'd.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'));
        const outDir = join(dir, 'o');
        const r = trainSFT(
          {
            ...defaultSFTConfig,
            data: join(dir, 'd.jsonl'),
            outDir,
            init: init(
              records.map((x) => x.prompt + x.completion),
              270,
            ),
            preset: 'tiny',
            vocabSize: 270,
            contextLength: 16,
            batchSize: 8,
            steps,
            lr: 1e-2,
            warmupSteps: 2,
            evalEvery: 0,
            evalFraction: 0,
            seed,
            quiet: true,
          },
          quiet,
        );
        const m = loadCheckpoint(outDir).model;
        return {
          first: r.firstLoss,
          last: r.finalLoss,
          params: snapshot(m.params),
          before: [],
          outDir,
          names: m.params.map((p) => p.name),
        };
      },
    },
    {
      name: 'reward',
      async run(seed, steps) {
        const outDir = tmp();
        const data = tinyComparisons(16);
        const { rm, result } = trainRewardModel(
          data,
          [],
          {
            ...defaultRewardConfig,
            outDir,
            init: init(
              data.flatMap((c) => [c.prompt, ...c.completions]),
              262,
            ),
            preset: 'tiny',
            vocabSize: 262,
            contextLength: 16,
            batchSize: 16,
            steps,
            lr: 1e-2,
            warmupSteps: 2,
            evalEvery: 0,
            seed,
            quiet: true,
          },
          quiet,
        );
        return {
          first: result.firstLoss,
          last: result.finalLoss,
          params: snapshot(rm.params),
          before: [],
          outDir,
          names: rm.params.map((p) => p.name),
        };
      },
    },
    {
      name: 'dpo',
      async run(seed, steps) {
        const { model, tok } = policy();
        const before = snapshot(model.params);
        const outDir = tmp();
        const r = trainDPO(
          model,
          tok,
          tinyComparisons(16),
          [],
          {
            ...defaultDPOConfig,
            outDir,
            beta: 0.5,
            batchSize: 16,
            steps,
            lr: 1e-2,
            warmupSteps: 2,
            evalEvery: 0,
            seed,
            quiet: true,
          },
          quiet,
        );
        return {
          first: r.firstLoss,
          last: r.finalLoss,
          params: snapshot(model.params),
          before,
          outDir,
          names: model.params.map((p) => p.name),
        };
      },
    },
    {
      name: 'kto',
      async run(seed, steps) {
        const { model, tok } = policy();
        const before = snapshot(model.params);
        const outDir = tmp();
        // Each comparison as two unpaired rows: its better completion desirable, its worse undesirable.
        const rows = tinyComparisons(8).flatMap((c) =>
          [true, false].map((label, k) => ({ prompt: c.prompt, completion: c.completions[k], label })),
        );
        const cfg = { ...defaultKTOConfig, outDir, beta: 0.5, batchSize: 16, steps, lr: 1e-2, warmupSteps: 2 };
        const r = trainKTO(model, tok, rows, [], { ...cfg, evalEvery: 0, seed, quiet: true }, quiet);
        const names = model.params.map((p) => p.name);
        return { first: r.firstLoss, last: r.finalLoss, params: snapshot(model.params), before, outDir, names };
      },
    },
    {
      name: 'hindsight',
      async run(seed, steps) {
        const { model, tok } = policy();
        const before = snapshot(model.params);
        const outDir = tmp();
        const r = trainHindsight(
          model,
          tok,
          tinyComparisons(8),
          [],
          {
            ...defaultHindsightConfig,
            outDir,
            batchSize: 8,
            steps,
            lr: 1e-2,
            warmupSteps: 2,
            evalEvery: 0,
            seed,
            quiet: true,
          },
          quiet,
        );
        return {
          first: r.firstLoss,
          last: r.finalLoss,
          params: snapshot(model.params),
          before,
          outDir,
          names: model.params.map((p) => p.name),
        };
      },
    },
    {
      name: 'rest',
      async run(seed, steps) {
        const { model, tok } = policy();
        const before = snapshot(model.params);
        const outDir = tmp();
        const reward = countA;
        // One Grow, one Improve step of 8·steps passes over the kept samples: the fine-tuning loss must fall.
        await trainReST(
          model,
          tok,
          [' b', ' c'],
          reward,
          {
            ...defaultReSTConfig,
            outDir,
            grows: 1,
            percentiles: [50],
            samplesPerPrompt: 8,
            epochsPerImprove: 8 * steps,
            batchSize: 16,
            maxNewTokens: 4,
            lr: 1e-2,
            contextLength: 16,
            seed,
            quiet: true,
          },
          quiet,
        );
        const lines = readFileSync(join(outDir, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        return {
          first: lines[0]['train/loss'],
          last: lines[lines.length - 1]['train/loss'],
          params: snapshot(model.params),
          before,
          outDir,
          names: model.params.map((p) => p.name),
        };
      },
    },
  ];
}

for (const family of FAMILIES) {
  describe(`trainer conformance (${family})`, () => {
    for (const t of trainersOf(family)) {
      describe(t.name, () => {
        it('finite loss, overfits a tiny batch, parameters change, checkpoint round-trips exactly', async () => {
          const r = await t.run(1, 30);
          assert.ok(Number.isFinite(r.first) && Number.isFinite(r.last), `loss ${r.first} → ${r.last}`);
          assert.ok(r.last < 0.6 * r.first, `${t.name} does not overfit a tiny batch: loss ${r.first} → ${r.last}`);
          if (r.before.length)
            assert.ok(
              r.params.some((p, i) => p.some((v, j) => v !== r.before[i][j])),
              'parameters changed',
            );
          const loaded = loadedParams(r.outDir);
          r.names.forEach((name, i) => assert.deepEqual(loaded.get(name)?.data, r.params[i], `${name} round-trips`));
        });
        it('the same seed gives the same run', async () => {
          const a = await t.run(3, 4),
            b = await t.run(3, 4);
          assert.equal(a.last, b.last);
          a.params.forEach((p, i) => assert.deepEqual(p, b.params[i]));
        });
      });
    }
  });

  describe(`trainer conformance (${family}): ppo (its objective is a reward, not a loss to overfit)`, () => {
    const reward = countA;
    const run = async (seed: number) => {
      const { model, tok } = letterPolicy(60, family);
      const before = snapshot(model.params);
      const outDir = tmp();
      const r = await trainPPO(
        model,
        tok,
        [' b', ' c'],
        reward,
        {
          ...defaultPPOConfig,
          outDir,
          iterations: 2,
          rolloutBatch: 8,
          minibatch: 4,
          ppoEpochs: 2,
          lr: 1e-3,
          maxNewTokens: 4,
          seed,
          quiet: true,
        },
        quiet,
      );
      return { r, before, params: snapshot(model.params), outDir, names: model.params.map((p) => p.name) };
    };
    it('finite metrics, parameters change, the checkpoint round-trips, the same seed gives the same run', async () => {
      const a = await run(4),
        b = await run(4);
      assert.ok(a.r.scores.every(Number.isFinite) && a.r.kl.every(Number.isFinite));
      assert.ok(
        a.params.some((p, i) => p.some((v, j) => v !== a.before[i][j])),
        'parameters changed',
      );
      const loaded = loadCheckpoint(a.outDir).model;
      loaded.params.forEach((p, i) => assert.deepEqual(p.data, a.params[i], `${p.name} round-trips`));
      a.params.forEach((p, i) => assert.deepEqual(p, b.params[i]));
      assert.deepEqual(a.r.scores, b.r.scores);
    });
  });

  describe(`trainer conformance (${family}): grpo and rloo (they optimize a reward, not a loss)`, () => {
    const run = async (trainer: 'grpo' | 'rloo', seed: number) => {
      const { model, tok } = letterPolicy(60, family);
      const before = snapshot(model.params);
      const outDir = tmp();
      // β > 0 and μ = 2, so the reference and the log-probs at sampling are taken too.
      const cfg = { outDir, steps: 2, batchSize: 2, numGenerations: 4, numIterations: 2, beta: 0.1, lr: 1e-3 };
      const o = { ...cfg, maxCompletionLength: 4, seed, quiet: true };
      const rewards = singleRewardSet(countA, 'count_a');
      const r =
        trainer === 'grpo'
          ? await trainGRPO(model, tok, [' b', ' c'], rewards, { ...defaultGRPOConfig, ...o }, quiet)
          : await trainRLOO(model, tok, [' b', ' c'], rewards, { ...defaultRLOOConfig, ...o }, quiet);
      return { r, before, params: snapshot(model.params), outDir };
    };
    for (const trainer of ['grpo', 'rloo'] as const)
      it(`${trainer}: finite metrics, parameters change, the checkpoint round-trips, one seed one run`, async () => {
        const a = await run(trainer, 4),
          b = await run(trainer, 4);
        assert.ok(a.r.rewards.every(Number.isFinite) && a.r.kl.every(Number.isFinite));
        assert.ok(
          a.params.some((p, i) => p.some((v, j) => v !== a.before[i][j])),
          'parameters changed',
        );
        const loaded = loadCheckpoint(a.outDir).model;
        loaded.params.forEach((p, i) => assert.deepEqual(p.data, a.params[i], `${p.name} round-trips`));
        a.params.forEach((p, i) => assert.deepEqual(p, b.params[i]));
        assert.deepEqual(a.r.rewards, b.r.rewards);
      });
  });
}
