// --tensorboard on every trainer: the event files hold each metrics.jsonl line's numbers at its step, as
// readers nobody here wrote parse them (src/test-support/tfevents-reader.ts), and a resumed run continues
// the same curves in TensorBoard's view.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WorkerPool } from '../engine/parallel.js';
import { Parameter } from '../engine/tensor.js';
import { readEventFiles, tensorBoardView, tfeventsReaderMissing } from '../test-support/tfevents-reader.js';
import { defaultDPOConfig, trainDPO } from './dpo.js';
import { defaultGRPOConfig, trainGRPO } from './grpo.js';
import { defaultHindsightConfig, trainHindsight } from './hindsight.js';
import { defaultKTOConfig, trainKTO } from './kto.js';
import { type OptimConfig, runTraining } from './loop.js';
import { defaultOnlineDPOConfig, trainOnlineDPO } from './online-dpo.js';
import { defaultPPOConfig, trainPPO } from './ppo.js';
import { ppoOptions } from './ppo-config.js';
import { defaultReSTConfig, trainReST } from './rest.js';
import { defaultRewardConfig, rewardOptions } from './reward-config.js';
import { singleRewardSet } from './reward-fn.js';
import { trainRewardModel } from './reward.js';
import { trainEnsemble } from './ensemble.js';
import { defaultRLOOConfig, trainRLOO } from './rloo.js';
import { defaultSFTConfig, sftOptions } from './sft-config.js';
import { trainSFT } from './sft.js';
import { countA, letterPolicy } from './test-fixtures.js';
import { dpoOptions } from './dpo-config.js';
import { hindsightOptions } from './hindsight-config.js';
import { ktoOptions } from './kto-config.js';
import { onlineDPOOptions } from './online-dpo-config.js';
import { grpoOptions } from './grpo-config.js';
import { rlooOptions } from './rloo-config.js';
import { restOptions } from './rest-config.js';

after(() => WorkerPool.shutdown());

const skip = tfeventsReaderMissing() ?? false;
const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-tb-'));
const quiet = () => {};
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * Asserts that TensorBoard's view of `tbDir` has every numeric field of every line at the line's step
 * (its `step`, else `iteration`, plus `offset(line)`), as float32, and nothing else.
 */
function assertSameAsLines(tbDir: string, ls: Record<string, unknown>[], offset = (_: Record<string, unknown>) => 0) {
  const view = tensorBoardView(readEventFiles(tbDir));
  const want = new Map<string, [number, number][]>();
  for (const l of ls) {
    const step = ((l.step ?? l.iteration) as number) + offset(l);
    for (const [k, v] of Object.entries(l))
      if (typeof v === 'number' && k !== 'step' && k !== 'iteration') {
        if (!want.has(k)) want.set(k, []);
        want.get(k)!.push([step, Math.fround(v)]);
      }
  }
  assert.ok(want.size > 0, 'metrics lines have numbers');
  assert.deepEqual([...view.keys()].sort(), [...want.keys()].sort());
  for (const [tag, points] of want) assert.deepEqual(view.get(tag), points, tag);
}

describe('--tensorboard is declared once for every trainer', () => {
  it('each trainer has it, with its <dir> argument and off by default', () => {
    const all = {
      sftOptions,
      rewardOptions,
      dpoOptions,
      hindsightOptions,
      ktoOptions,
      ppoOptions,
      restOptions,
      grpoOptions,
      rlooOptions,
      onlineDPOOptions,
    };
    for (const [name, o] of Object.entries(all)) {
      const t = (o.spec as Record<string, { flag: string; default: unknown; arg?: string }>).tensorboard;
      assert.ok(t, `${name} declares tensorboard`);
      assert.deepEqual([t.flag, t.default, t.arg], ['--tensorboard', '', '<dir>'], name);
    }
  });
});

describe('the shared loop with --tensorboard', () => {
  it('a run that dies past its checkpoint, resumed, shows each step once in TensorBoard', { skip }, () => {
    const dir = tmp(),
      tb = join(dir, 'tb');
    const w = new Parameter('w', Float32Array.from([1, -1]), [2]);
    const cfg: OptimConfig = {
      steps: 6,
      lr: 0.1,
      warmupSteps: 0,
      weightDecay: 0,
      beta1: 0.9,
      beta2: 0.95,
      gradClip: 0,
      evalEvery: 0,
      saveEvery: 2,
      seed: 0,
      tensorboard: tb,
    };
    const task = (dieAt: number) => ({
      params: [w],
      step(_rng: unknown, step: number) {
        if (step === dieAt) throw new Error('killed');
        w.grad!.set(w.data);
        return { loss: 0.5 * (w.data[0] ** 2 + w.data[1] ** 2), tokens: 1, metrics: { 'objective/w0': w.data[0] } };
      },
      save() {},
    });
    // Steps 1–3 logged, checkpoint after 2, killed in the 4th: step 3 is logged twice in metrics.jsonl.
    assert.throws(() => runTraining(task(3), cfg, { outDir: dir, quiet: true }), /killed/);
    runTraining(task(-1), cfg, { outDir: dir, resume: true, quiet: true });
    const all = lines(join(dir, 'metrics.jsonl'));
    assert.deepEqual(
      all.map((l) => l.step),
      [1, 2, 3, 3, 4, 5, 6],
    );
    assert.equal(readdirSync(tb).length, 2, 'the resumed process writes a second event file');
    const files = readEventFiles(tb);
    assert.deepEqual(
      files.map((f) => f.events.find((e) => e.session_status === 'START')?.step),
      [1, 3],
      'each file marks a session start at its first step',
    );
    // What TensorBoard shows: the resumed run's lines, the orphaned step 3 dropped.
    assertSameAsLines(tb, [...all.slice(0, 2), ...all.slice(3)]);
  });

  it('a directory it cannot write stops the run before its first step, naming the flag', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), '');
    const w = new Parameter('w', Float32Array.from([1]), [1]);
    const task = { params: [w], step: () => ({ loss: 0, tokens: 1 }), save() {} };
    assert.throws(
      () => runTraining(task, { ...defaultSFTConfig, tensorboard: join(dir, 'file') }, { outDir: dir, quiet: true }),
      /^Error: tensorboard \(--tensorboard\) .*file: cannot write an event file there \(EEXIST/,
    );
  });

  it('a new run into the same directory replaces the old one in the view', { skip }, () => {
    const dir = tmp(),
      tb = join(dir, 'tb');
    const w = new Parameter('w', Float32Array.from([2]), [1]);
    const task = {
      params: [w],
      step() {
        w.grad!.set(w.data);
        return { loss: w.data[0] ** 2, tokens: 1 };
      },
      save() {},
    };
    const cfg = { ...defaultSFTConfig, steps: 3, evalEvery: 0, tensorboard: tb };
    runTraining(task, { ...cfg, steps: 5 }, { outDir: dir, quiet: true });
    runTraining(task, cfg, { outDir: dir, quiet: true });
    assertSameAsLines(tb, lines(join(dir, 'metrics.jsonl')));
  });
});

describe('every trainer writes its metrics lines as TensorBoard scalars', { skip }, () => {
  const comparisons = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      prompt: [' b', ' c'][i % 2],
      completions: [' a a', ' b c'],
      ranking: [0, 1],
    }));
  const common = { steps: 2, lr: 1e-3, warmupSteps: 0, evalEvery: 1, seed: 1, quiet: true };
  const check = (outDir: string, tb: string) => assertSameAsLines(tb, lines(join(outDir, 'metrics.jsonl')));

  it('sft, reward, dpo, kto, hindsight (the shared loop, with eval lines)', () => {
    const d = tmp();
    const records = Array.from({ length: 8 }, (_, i) => ({ prompt: `Q${i % 4}:`, completion: ` answer ${i % 4}` }));
    writeFileSync(join(d, 'd.jsonl'), records.map((r) => JSON.stringify(r)).join('\n'));
    const sft = { out: join(d, 'sft'), tb: join(d, 'tb-sft') };
    trainSFT(
      {
        ...defaultSFTConfig,
        ...common,
        data: join(d, 'd.jsonl'),
        outDir: sft.out,
        preset: 'tiny',
        vocabSize: 270,
        contextLength: 16,
        batchSize: 4,
        evalFraction: 0.25,
        tensorboard: sft.tb,
      },
      quiet,
    );
    check(sft.out, sft.tb);
    assert.ok(
      lines(join(sft.out, 'metrics.jsonl')).some((l) => 'eval/loss' in l),
      'eval lines are covered',
    );

    const rw = { out: join(d, 'reward'), tb: join(d, 'tb-reward') };
    trainRewardModel(
      comparisons(8),
      comparisons(2),
      {
        ...defaultRewardConfig,
        ...common,
        outDir: rw.out,
        preset: 'tiny',
        vocabSize: 262,
        contextLength: 16,
        batchSize: 4,
        tensorboard: rw.tb,
      },
      quiet,
    );
    check(rw.out, rw.tb);

    // An ensemble: each member a run of its own, in DIR/member-k.
    const ens = { out: join(d, 'ensemble'), tb: join(d, 'tb-ensemble') };
    const rwCfg = { ...defaultRewardConfig, ...common, preset: 'tiny' as const, vocabSize: 262, contextLength: 16 };
    trainEnsemble(
      comparisons(8),
      [],
      { ...rwCfg, batchSize: 4, outDir: ens.out, tensorboard: ens.tb },
      2,
      false,
      quiet,
    );
    assert.deepEqual(readdirSync(ens.tb).sort(), ['member-0', 'member-1']);
    for (const m of ['member-0', 'member-1']) check(join(ens.out, m), join(ens.tb, m));

    for (const name of ['dpo', 'kto', 'hindsight'] as const) {
      const { model, tok } = letterPolicy(60, 'gpt2');
      const out = join(d, name),
        tb = join(d, `tb-${name}`);
      const o = { ...common, outDir: out, batchSize: 4, tensorboard: tb };
      if (name === 'dpo') trainDPO(model, tok, comparisons(8), comparisons(2), { ...defaultDPOConfig, ...o }, quiet);
      else if (name === 'hindsight')
        trainHindsight(model, tok, comparisons(8), comparisons(2), { ...defaultHindsightConfig, ...o }, quiet);
      else {
        const rows = [true, false, true, false].map((label, k) => ({
          prompt: ' b',
          completion: [' a', ' c'][k % 2],
          label,
        }));
        trainKTO(model, tok, rows, rows, { ...defaultKTOConfig, ...o }, quiet);
      }
      check(out, tb);
    }
  });

  it('ppo (by iteration), stopped and resumed', async () => {
    const { model, tok } = letterPolicy(60, 'gpt2');
    const outDir = tmp(),
      tb = join(outDir, 'tb');
    const cfg = {
      ...defaultPPOConfig,
      outDir,
      iterations: 2,
      rolloutBatch: 4,
      minibatch: 4,
      ppoEpochs: 1,
      maxNewTokens: 3,
      quiet: true,
      tensorboard: tb,
    };
    await trainPPO(model, tok, [' b', ' c'], countA, { ...cfg, stopAfter: 1 }, quiet);
    const again = letterPolicy(60, 'gpt2');
    await trainPPO(again.model, again.tok, [' b', ' c'], countA, { ...cfg, resume: true }, quiet);
    const ls = lines(join(outDir, 'metrics.jsonl'));
    assert.deepEqual(
      ls.map((l) => l.iteration),
      [1, 2],
    );
    assert.equal(readdirSync(tb).length, 2);
    assertSameAsLines(tb, ls);
  });

  for (const trainer of ['grpo', 'rloo'] as const)
    it(`${trainer} (TRL's names, some without a namespace)`, async () => {
      const { model, tok } = letterPolicy(60, 'gpt2');
      const outDir = tmp(),
        tb = join(outDir, 'tb');
      const o = {
        outDir,
        steps: 2,
        batchSize: 2,
        numGenerations: 2,
        maxCompletionLength: 3,
        quiet: true,
        tensorboard: tb,
      };
      const rewards = singleRewardSet(countA, 'count_a');
      if (trainer === 'grpo') await trainGRPO(model, tok, [' b', ' c'], rewards, { ...defaultGRPOConfig, ...o }, quiet);
      else await trainRLOO(model, tok, [' b', ' c'], rewards, { ...defaultRLOOConfig, ...o }, quiet);
      check(outDir, tb);
    });

  it('online-dpo', async () => {
    const { model, tok } = letterPolicy(60, 'gpt2');
    const outDir = tmp(),
      tb = join(outDir, 'tb');
    const o = { outDir, steps: 2, batchSize: 2, maxNewTokens: 3, quiet: true, tensorboard: tb };
    await trainOnlineDPO(model, tok, [' b', ' c'], countA, { ...defaultOnlineDPOConfig, ...o }, quiet);
    check(outDir, tb);
  });

  it("rest: one file for every Improve, steps counted on; rest.jsonl's Grow lines under rest/", async () => {
    const { model, tok } = letterPolicy(60, 'gpt2');
    const outDir = tmp(),
      tb = join(outDir, 'tb');
    await trainReST(
      model,
      tok,
      [' b', ' c'],
      countA,
      {
        ...defaultReSTConfig,
        outDir,
        grows: 1,
        percentiles: [0, 50],
        samplesPerPrompt: 4,
        epochsPerImprove: 1,
        batchSize: 4,
        maxNewTokens: 3,
        contextLength: 16,
        quiet: true,
        tensorboard: tb,
      },
      quiet,
    );
    const ls = lines(join(outDir, 'metrics.jsonl'));
    const improves = ls.map((l) => l['rest/improve']);
    assert.deepEqual([...new Set(improves)], [1, 2]);
    const stepsOf = (k: number) => ls.filter((l) => l['rest/improve'] === k).length;
    const grows = lines(join(outDir, 'rest.jsonl'));
    // Grow lines: at step 0 (the starting policy) and after all the steps of the Grow's Improves.
    const growAsLines = grows.map((g) => ({
      step: g.grow === 0 ? 0 : stepsOf(1) + stepsOf(2),
      ...Object.fromEntries(
        Object.entries(g)
          .filter(([k]) => k !== 'grow')
          .map(([k, v]) => [k.includes('/') ? k : `rest/${k}`, v]),
      ),
    }));
    assert.equal(readdirSync(tb).length, 1);
    const view = tensorBoardView(readEventFiles(tb));
    // The Improve lines' steps follow on: the second Improve's first line is one past the first's last.
    assert.deepEqual(
      view.get('rest/improve')!.map(([s]) => s),
      Array.from({ length: ls.length }, (_, i) => i + 1),
    );
    assert.deepEqual(
      view.get('rest/mean_reward')!.map(([s]) => s),
      growAsLines.map((g) => g.step),
    );
    assert.deepEqual(
      view.get('rest/mean_reward')!.map(([, v]) => v),
      grows.map((g) => Math.fround(g.mean_reward as number)),
    );
    for (const l of ls) {
      const step = (l.step as number) + (l['rest/improve'] === 2 ? stepsOf(1) : 0);
      assert.deepEqual(
        view.get('train/loss')!.find(([s]) => s === step),
        [step, Math.fround(l['train/loss'] as number)],
      );
    }
  });
});
