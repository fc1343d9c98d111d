// The over-optimization monitor on every online trainer (conformance-style, on the tiny letter policy):
// the files it writes, that it does not change training, best/ as a loadable checkpoint at the signal's
// peak, and --stop-when-parting stopping where a scripted signal parts from a rising proxy.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Comparison } from '../data/comparison.js';
import { WorkerPool } from '../engine/parallel.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { type MonitorSetup, MONITOR_FILE } from './monitor.js';
import { defaultMonitorOptions } from './monitor-options.js';
import { type MonitorSignal, holdoutRewardSignal, preferenceSignal } from './monitor-signals.js';
import { defaultOnlineDPOConfig, trainOnlineDPO } from './online-dpo.js';
import { defaultPPOConfig, trainPPO } from './ppo.js';
import { defaultReSTConfig, trainReST } from './rest.js';
import { type RewardFn, singleRewardSet } from './reward-fn.js';
import { defaultGRPOConfig, trainGRPO } from './grpo.js';
import { defaultRLOOConfig, trainRLOO } from './rloo.js';
import { countA, letterPolicy } from './test-fixtures.js';

process.env.RLHF_THREADS = '2';
after(() => WorkerPool.shutdown());

const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-monitor-'));
const quiet = () => {};
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const countB: RewardFn = (items) => items.map((it) => (it.completion.match(/b/g) ?? []).length);

const heldOut = [' c', ' d', ' e', ' b'].map((prompt) => ({ prompt, columns: {} }));
const pairs: Comparison[] = [
  { prompt: ' c', completions: [' a a', ' b b'], ranking: [0, 1] },
  { prompt: ' d', completions: [' e', ' a'], ranking: [1, 0] },
];

/** The monitor every trainer gets here: a second reward (count of b), held-out pairs, a watched reward (count of a). */
const setup = (every: number, extra: Partial<typeof defaultMonitorOptions> = {}): MonitorSetup => ({
  options: { ...defaultMonitorOptions, monitorPrompts: 'held-out', monitorEvery: every, ...extra },
  prompts: heldOut,
  signals: [holdoutRewardSignal(singleRewardSet(countB, 'b')), preferenceSignal(pairs)],
  watch: singleRewardSet(countA, 'a'),
});

/** What every monitored run must have written: evaluations at `steps`, each with every metric. */
function checkRun(outDir: string, steps: number[], summary: { bestStep: number | null; evaluations: number }) {
  const m = lines(join(outDir, MONITOR_FILE));
  assert.deepEqual(
    m.map((r) => r.step),
    steps,
  );
  for (const r of m) {
    for (const k of ['proxy', 'kl', 'length', 'stop_rate', 'holdout_reward', 'pref_accuracy', 'reward/a'])
      assert.ok(Number.isFinite(r[`monitor/${k}`]), `monitor/${k} at step ${r.step}`);
    assert.ok(r['monitor/stop_rate'] >= 0 && r['monitor/stop_rate'] <= 1);
  }
  assert.equal(m[0]['monitor/kl'], 0, 'the starting policy is the reference');
  assert.equal(m[0]['monitor/pref_accuracy'], 0.5, 'every log-ratio margin is 0 at the start');
  assert.equal(summary.evaluations, steps.length);
  // best/ is a checkpoint loaded as the final one is, at the step it says.
  assert.ok(summary.bestStep !== null && steps.includes(summary.bestStep));
  const best = loadCheckpoint(join(outDir, 'best'));
  assert.ok(best.tokenizer, 'best/ carries the tokenizer');
  assert.equal(JSON.parse(readFileSync(join(outDir, 'best', 'monitor.json'), 'utf8')).step, summary.bestStep);
  assert.ok(!existsSync(join(outDir, 'monitor')), 'the waiting checkpoint is gone at the end');
}

describe('the over-optimization monitor on every online trainer', () => {
  it('ppo: evaluations at 0, every 2 iterations and the last; training is the same as without it', async () => {
    const run = async (monitored: boolean) => {
      const { model, tok } = letterPolicy();
      const outDir = tmp();
      const cfg = { ...defaultPPOConfig, outDir, iterations: 3, rolloutBatch: 4, minibatch: 2, ppoEpochs: 1 };
      const r = await trainPPO(
        model,
        tok,
        [' a', ' b'],
        countA,
        { ...cfg, maxNewTokens: 4, lr: 1e-3, seed: 3, quiet: true },
        quiet,
        undefined,
        monitored ? { monitor: setup(2) } : {},
      );
      return { r, outDir };
    };
    const a = await run(true),
      b = await run(false);
    assert.deepEqual(a.r.scores, b.r.scores, 'the monitor samples with its own seeds');
    assert.deepEqual(a.r.kl, b.r.kl);
    checkRun(a.outDir, [0, 2, 3], a.r.monitor!);
    const metrics = lines(join(a.outDir, 'metrics.jsonl'));
    assert.deepEqual(
      metrics.filter((m) => 'monitor/proxy' in m).map((m) => m.iteration),
      [0, 2, 3],
    );
    assert.ok(!existsSync(join(b.outDir, 'best')) && !existsSync(join(b.outDir, MONITOR_FILE)));
  });

  it('grpo and rloo: every step', async () => {
    const small = { steps: 2, batchSize: 2, numGenerations: 2, maxCompletionLength: 4, lr: 1e-3, quiet: true };
    const rows = [' a', ' b'].map((prompt) => ({ prompt, columns: {} }));
    for (const name of ['grpo', 'rloo'] as const) {
      const { model, tok } = letterPolicy();
      const outDir = tmp();
      const r =
        name === 'grpo'
          ? await trainGRPO(
              model,
              tok,
              rows,
              singleRewardSet(countA),
              { ...defaultGRPOConfig, ...small, outDir },
              quiet,
              {
                monitor: setup(1),
              },
            )
          : await trainRLOO(
              model,
              tok,
              rows,
              singleRewardSet(countA),
              { ...defaultRLOOConfig, ...small, outDir },
              quiet,
              {
                monitor: setup(1),
              },
            );
      checkRun(outDir, [0, 1, 2], r.monitor!);
    }
  });

  it('online-dpo: every 2 steps and the last', async () => {
    const { model, tok } = letterPolicy();
    const outDir = tmp();
    const r = await trainOnlineDPO(
      model,
      tok,
      [' a', ' b'],
      countA,
      { ...defaultOnlineDPOConfig, outDir, steps: 3, batchSize: 2, maxNewTokens: 4, lr: 1e-3, quiet: true },
      quiet,
      { monitor: setup(2) },
    );
    checkRun(outDir, [0, 2, 3], r.monitor!);
  });

  it('rest: every Improve step', async () => {
    const { model, tok } = letterPolicy();
    const outDir = tmp();
    const r = await trainReST(
      model,
      tok,
      [' a', ' b', ' c'],
      countA,
      {
        ...defaultReSTConfig,
        outDir,
        grows: 1,
        percentiles: [50, 75],
        samplesPerPrompt: 2,
        maxNewTokens: 4,
        batchSize: 2,
        quiet: true,
      },
      quiet,
      { monitor: setup(1) },
    );
    checkRun(outDir, [0, 1, 2], r.monitor!);
    const metrics = lines(join(outDir, 'metrics.jsonl')).filter((m) => 'monitor/proxy' in m);
    assert.deepEqual(
      metrics.map((m) => [m.step, m['rest/grow'], m['rest/improve']]),
      [
        [0, 0, 0],
        [1, 1, 1],
        [2, 1, 2],
      ],
    );
  });
});

describe('the monitor across --resume', () => {
  it('a run stopped after iteration 2 and resumed writes the monitor.jsonl and best/ of one whole run', async () => {
    const run = async (outDir: string, o: { stopAfter?: number; resume?: boolean }) => {
      const { model, tok } = letterPolicy();
      return trainPPO(
        model,
        tok,
        [' a', ' b'],
        countA,
        {
          ...defaultPPOConfig,
          outDir,
          iterations: 4,
          rolloutBatch: 4,
          minibatch: 2,
          ppoEpochs: 1,
          maxNewTokens: 4,
          lr: 3e-3,
          seed: 5,
          quiet: true,
          ...o,
        },
        quiet,
        undefined,
        { monitor: setup(1) },
      );
    };
    const whole = tmp(),
      split = tmp();
    const a = await run(whole, {});
    const first = await run(split, { stopAfter: 2 });
    assert.equal(first.monitor!.evaluations, 3);
    assert.ok(existsSync(join(split, 'monitor', 'previous')), 'the waiting checkpoint stays for the resumed run');
    const b = await run(split, { resume: true });
    assert.deepEqual(lines(join(split, MONITOR_FILE)), lines(join(whole, MONITOR_FILE)));
    assert.equal(b.monitor!.bestStep, a.monitor!.bestStep);
    const wa = loadCheckpoint(join(whole, 'best')).model.params,
      wb = loadCheckpoint(join(split, 'best')).model.params;
    wa.forEach((p, i) => assert.deepEqual(wb[i].data, p.data, `best/ ${p.name}`));
  });
});

/** A signal that reads its values from a script, one per evaluation. */
function scripted(values: number[]): MonitorSignal {
  let k = 0;
  return { name: 'holdout_reward', direction: 1, measure: async () => ({ value: values[k++] }) };
}

describe('parting and --stop-when-parting', () => {
  // The proxy is a counter, so it rises at every evaluation; the signal rises, then falls:
  //   signal 0, .5, 1, .5, 0 → moving means .25, .5, .667, .5, .25 once all are in.
  // After step 3 the last mean is (1 + .5)/2 = .75, still the peak; after step 4 the peak is step 2's .667 and
  // the proxy rose past it (minRise 0.25 × the proxy's spread at step 0, which is 0): parted, and stopped.
  const run = async (stopWhenParting: boolean) => {
    const { model, tok } = letterPolicy();
    const outDir = tmp();
    let calls = 0;
    const rising: RewardFn = (items) => {
      calls++;
      return items.map(() => calls);
    };
    const logs: string[] = [];
    const r = await trainPPO(
      model,
      tok,
      [' a', ' b'],
      rising,
      {
        ...defaultPPOConfig,
        outDir,
        iterations: 6,
        rolloutBatch: 2,
        minibatch: 2,
        ppoEpochs: 1,
        maxNewTokens: 3,
        seed: 1,
        quiet: true,
      },
      (m) => logs.push(m),
      undefined,
      {
        monitor: {
          options: { ...defaultMonitorOptions, monitorPrompts: 'x', monitorEvery: 1, stopWhenParting },
          prompts: heldOut,
          signals: [scripted([0, 0.5, 1, 0.5, 0, -0.5, -1])],
          watch: null,
        },
      },
    );
    return { r, outDir, logs };
  };

  it('stops at the evaluation that finds the parting, saves there, and best/ holds the peak', async () => {
    const { r, outDir, logs } = await run(true);
    assert.equal(r.scores.length, 4, 'stopped after iteration 4 of 6');
    assert.equal(r.monitor!.stoppedAt, 4);
    assert.equal(r.monitor!.partedAt, 4);
    assert.equal(r.monitor!.bestStep, 2);
    assert.ok(Math.abs(r.monitor!.bestValue! - 2 / 3) < 1e-12);
    assert.equal(r.monitor!.parting!.step, 2);
    assert.ok(logs.some((l) => /WARNING: over-optimization/.test(l) && /stopping \(--stop-when-parting\)/.test(l)));
    const m = lines(join(outDir, MONITOR_FILE));
    assert.deepEqual(
      m.map((x) => x['monitor/parted']),
      [0, 0, 0, 0, 1],
    );
    assert.deepEqual(
      m.map((x) => x['monitor/best_step']),
      [undefined, 0, 1, 2, 2],
    );
    // The run's own checkpoint is the stopping point's, resumable there.
    const state = JSON.parse(readFileSync(join(outDir, 'trainer_state.json'), 'utf8'));
    assert.equal(state.iteration, 4);
    assert.equal(JSON.parse(readFileSync(join(outDir, 'best', 'monitor.json'), 'utf8')).step, 2);
  });

  it('without --stop-when-parting the run goes on, warning once', async () => {
    const { r, logs } = await run(false);
    assert.equal(r.scores.length, 6);
    assert.equal(r.monitor!.stoppedAt, null);
    assert.equal(r.monitor!.partedAt, 4);
    assert.equal(r.monitor!.bestStep, 2);
    assert.equal(logs.filter((l) => /WARNING/.test(l)).length, 1);
  });
});
