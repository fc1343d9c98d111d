import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { PromptRow } from './policy-gradient.js';
import { type ScoredText, singleRewardSet } from './reward-fn.js';
import { type RLOOConfig, defaultRLOOConfig, trainRLOO } from './rloo.js';
import { letterPolicy } from './test-fixtures.js';

const metricLines = (dir: string): Record<string, number>[] =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const quiet = () => {};
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `rlhf-rloo-${name}-`));

const base = letterPolicy();
const rows: PromptRow[] = [' b', ' c', ' d', ' e'].map((prompt) => ({ prompt, columns: { answer: 'a' } }));
const exact = (items: ScoredText[]) =>
  items.map((it) => (it.completion.trim().split(' ')[0] === it.columns?.answer ? 1 : 0));
const rewards = singleRewardSet(exact, 'exact');
const small = (outDir: string, o: Partial<RLOOConfig> = {}): RLOOConfig => ({
  ...defaultRLOOConfig,
  outDir,
  steps: 2,
  batchSize: 4,
  numGenerations: 4,
  maxCompletionLength: 2,
  lr: 5e-3,
  quiet: true,
  ...o,
});
const train = (cfg: RLOOConfig) => trainRLOO(base.model.clone(), base.tok, rows, rewards, cfg, quiet);

describe('RLOO', () => {
  it('raises an exact-answer reward with the KL in the reward (TRL’s default), logging TRL’s names', async () => {
    const out = tmp('learn');
    const r = await train(small(out, { steps: 20, numGenerations: 8 }));
    const early = mean(r.rewards.slice(0, 3)),
      late = mean(r.rewards.slice(-3));
    const all = r.rewards.map((x) => x.toFixed(2)).join(' ');
    assert.ok(early < 0.4 && late > 0.75, `reward ${early.toFixed(2)} → ${late.toFixed(2)}: ${all}`);
    // The KL is the k1 of the samples at sampling time: 0 while the policy is the reference, then positive.
    assert.equal(r.kl[0], 0);
    assert.ok(r.kl[19] > 0.05, `KL ${r.kl.map((k) => k.toFixed(3)).join(' ')}`);
    const lines = metricLines(out);
    for (const key of [
      ...['loss', 'reward', 'reward_std', 'frac_reward_zero_std', 'rewards/exact/mean', 'kl', 'entropy'],
      ...['clip_ratio/region_mean', 'completions/mean_length', 'completions/clipped_ratio', 'train/lr'],
    ])
      assert.ok(Number.isFinite(lines[19][key]), `${key} logged`);
    assert.equal(loadCheckpoint(out).meta.klIn, 'reward');
  });

  it('the KL in the loss: k3 with gradients, never negative; β = 0 keeps no reference', async () => {
    const out = tmp('loss');
    const r = await train(small(out, { steps: 4, klIn: 'loss', beta: 0.1, lr: 1e-2 }));
    assert.ok(Math.abs(r.kl[0]) < 1e-6, `the first batch's KL: ${r.kl[0]}`);
    assert.ok(r.kl.every((k) => k >= 0) && r.kl[3] > 0, `KL ${r.kl.join(' ')}`);
    const model = base.model.clone();
    model.clone = () => {
      throw new Error('cloned');
    };
    const none = tmp('none');
    await trainRLOO(model, base.tok, rows, rewards, small(none, { beta: 0 }), quiet);
    assert.equal(metricLines(none)[0].kl, undefined);
  });

  it('resumes: 1 step, then --resume for 2 more, give the weights and metrics of 3 in one go', async () => {
    const cfg = (outDir: string) => small(outDir, { steps: 3, numIterations: 2, normalizeAdvantages: true });
    const whole = tmp('whole'),
      split = tmp('split');
    const a = await train(cfg(whole));
    await train({ ...cfg(split), stopAfter: 1 });
    const b = await train({ ...cfg(split), resume: true });
    assert.deepEqual(b.rewards, a.rewards);
    assert.deepEqual(b.kl, a.kl);
    assert.deepEqual(metricLines(split), metricLines(whole));
    const [ca, cb] = [loadCheckpoint(whole), loadCheckpoint(split)];
    ca.model.params.forEach((p, i) => assert.deepEqual(cb.model.params[i].data, p.data, p.name));
  });
});
