import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { Generator } from './generator.js';
import { LocalGenerator } from './generator.js';
import { type OnlineDPOConfig, defaultOnlineDPOConfig, trainOnlineDPO } from './online-dpo.js';
import { singleRewardSet } from './reward-fn.js';
import { countA, letterPolicy } from './test-fixtures.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-odpo-'));
const quiet = () => {};
const prompts = [' b', ' c', ' d e', ' e', ' b c', ' d'];
const reward = singleRewardSet(countA, 'count_a');
const metricLines = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const cfg = (outDir: string, o: Partial<OnlineDPOConfig> = {}): OnlineDPOConfig => ({
  ...defaultOnlineDPOConfig,
  outDir,
  beta: 0.5,
  batchSize: 6,
  steps: 4,
  maxNewTokens: 4,
  lr: 3e-3,
  warmupSteps: 1,
  quiet: true,
  ...o,
});

describe('online DPO', () => {
  it("samples two completions per prompt, prefers the higher reward, and raises it; logs TRL's metrics", async () => {
    const { model, tok } = letterPolicy();
    const outDir = tmp();
    const r = await trainOnlineDPO(model, tok, prompts, reward, cfg(outDir, { steps: 30, temperature: 1 }), quiet);
    assert.ok(Math.abs(r.firstLoss - Math.LN2) < 1e-4, `the first step starts at the reference: loss ${r.firstLoss}`);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const early = mean(r.scores.slice(0, 8)),
      late = mean(r.scores.slice(-8));
    assert.ok(late > early + 0.4, `"a" per sample ${early} → ${late}`);
    const lines = metricLines(outDir);
    assert.equal(lines.length, 30);
    for (const k of [
      'objective/scores',
      'objective/scores_margin',
      'objective/kl',
      'objective/rlhf_reward',
      'objective/entropy',
      'rewards/chosen',
      'rewards/rejected',
      'rewards/margins',
      'rewards/accuracies',
      'logps/chosen',
      'logps/rejected',
      'val/contain_eos_token',
      'completions/mean_length',
      'rewards/count_a/mean',
    ])
      assert.ok(Number.isFinite(lines.at(-1)[k]), `${k} logged`);
    assert.ok(Math.abs(lines[0]['objective/kl']) < 1e-4, 'the policy starts as the reference');
    assert.ok(
      lines.every((l) => l['objective/scores_margin'] >= 0),
      'the higher-scored sample is chosen',
    );
    assert.ok(lines.at(-1)['objective/kl'] > 0);
    assert.equal(loadCheckpoint(outDir).meta.trainer, 'online-dpo');
  });

  it('the missing-EOS penalty lowers the score of each completion cut at the length', async () => {
    const run = async (missingEosPenalty: number) => {
      const outDir = tmp();
      const { model, tok } = letterPolicy();
      await trainOnlineDPO(model, tok, prompts, reward, cfg(outDir, { steps: 1, missingEosPenalty }), quiet);
      return metricLines(outDir)[0];
    };
    const a = await run(0),
      b = await run(2);
    assert.ok(a['val/contain_eos_token'] < 1, 'some completions are cut at 4 tokens');
    assert.ok(
      Math.abs(b['objective/scores'] - (a['objective/scores'] - 2 * (1 - a['val/contain_eos_token']))) < 1e-6,
      `${a['objective/scores']} → ${b['objective/scores']}`,
    );
    assert.equal(a['rewards/count_a/mean'], b['rewards/count_a/mean'], 'the reward itself is logged unpenalized');
  });

  it('samples.jsonl: each --samples-every step, both samples of a prompt, the chosen one scored higher', async () => {
    const { model, tok } = letterPolicy();
    const outDir = tmp();
    await trainOnlineDPO(
      model,
      tok,
      prompts,
      reward,
      cfg(outDir, { steps: 4, samplesEvery: 2, missingEosPenalty: 1 }),
      quiet,
    );
    const samples = readFileSync(join(outDir, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      samples.map((x) => x.step),
      [...Array(12).fill(2), ...Array(12).fill(4)],
      'steps 2 and 4, two samples of six prompts each',
    );
    assert.deepEqual(Object.keys(samples[0]), [
      'step',
      'prompt',
      'completion',
      'reward',
      'rewards',
      'chosen',
      'finish_reason',
    ]);
    for (let i = 0; i < samples.length; i += 2) {
      const [a, b] = [samples[i], samples[i + 1]];
      assert.equal(a.prompt, b.prompt, 'side by side');
      assert.equal(a.chosen !== b.chosen, true, 'one of each pair chosen');
      const [c, r] = a.chosen ? [a, b] : [b, a];
      assert.ok(c.reward >= r.reward, `${c.reward} ≥ ${r.reward}`);
    }
    for (const x of samples) {
      assert.equal(x.rewards.count_a, countA([x])[0]);
      assert.equal(x.reward, x.rewards.count_a - (x.finish_reason === 'stop' ? 0 : 1), 'the penalized score');
    }
  });

  it('IPO and label smoothing run with the same options as train dpo', async () => {
    const { model, tok } = letterPolicy();
    const ipo = await trainOnlineDPO(model, tok, prompts, reward, cfg(tmp(), { loss: 'ipo' }), quiet);
    assert.ok(Number.isFinite(ipo.finalLoss));
    const m2 = letterPolicy().model;
    await assert.rejects(
      trainOnlineDPO(m2, tok, prompts, reward, cfg(tmp(), { loss: 'ipo', labelSmoothing: 0.1 }), quiet),
      /labelSmoothing \(--label-smoothing\) applies to the sigmoid \(DPO\) loss only/,
    );
    await assert.rejects(
      trainOnlineDPO(m2, tok, prompts, reward, cfg(tmp(), { temperature: 0 }), quiet),
      /temperature \(--temperature\) must be a number > 0/,
    );
  });

  it('a generator gets the policy before each step, and one that cannot take weights is refused', async () => {
    const { model, tok } = letterPolicy();
    const local = new LocalGenerator(model, tok);
    const synced: number[] = [];
    const remote: Generator = {
      name: 'the test generator',
      generate: (req, o) => local.generate(req, o),
      async syncPolicy(p: CausalLM) {
        synced.push(p.params[0].data[0]);
        return true;
      },
    };
    await trainOnlineDPO(model, tok, prompts, reward, cfg(tmp(), { steps: 3 }), quiet, { generator: remote });
    assert.equal(synced.length, 3, 'once per step');
    assert.notEqual(synced[2], synced[0], 'the updated weights');
    const fixed: Generator = { ...remote, syncPolicy: async () => false };
    await assert.rejects(
      trainOnlineDPO(letterPolicy().model, tok, prompts, reward, cfg(tmp()), quiet, { generator: fixed }),
      /the test generator cannot take the policy's weights.*--accept-weights/,
    );
  });

  it('resumed after 2 steps, the same run as 4 in one go (a full run: its reference is a copy of --init)', async () => {
    const root = tmp();
    const go = (dir: string, o: Partial<OnlineDPOConfig> = {}) => {
      const { model, tok } = letterPolicy();
      return trainOnlineDPO(model, tok, prompts, reward, cfg(join(root, dir), { samplesEvery: 1, ...o }), quiet);
    };
    await go('whole');
    await go('split', { stopAfter: 2 });
    await go('split', { resume: true });
    const a = loadCheckpoint(join(root, 'whole')).model,
      b = loadCheckpoint(join(root, 'split')).model;
    a.params.forEach((p, i) => assert.deepEqual(b.params[i].data, p.data, p.name));
    assert.deepEqual(metricLines(join(root, 'split')), metricLines(join(root, 'whole')));
    const samples = (dir: string) => readFileSync(join(root, dir, 'samples.jsonl'), 'utf8');
    assert.equal(samples('split'), samples('whole'), 'the resumed run appends to samples.jsonl');
  });
});
