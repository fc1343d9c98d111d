import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { GPT } from '../model/gpt.js';
import { LocalGenerator } from './generator.js';
import { countA, letterPolicy } from './test-fixtures.js';
import { defaultReSTConfig, percentile, trainReST, validateReSTConfig } from './rest.js';

describe('ReST', () => {
  it('percentiles interpolate; thresholds must rise', () => {
    assert.equal(percentile([1, 2, 3, 4, 5], 50), 3);
    assert.equal(percentile([0, 10], 25), 2.5);
    assert.throws(() => validateReSTConfig({ ...defaultReSTConfig, outDir: 'x', percentiles: [70, 50] }), /must rise/);
  });

  it('raises the mean of a known reward (more "a" in the completion) over the starting policy', async () => {
    const { dir, model: policy, tok } = letterPolicy();
    const reward = countA;
    const out = mkdtempSync(join(tmpdir(), 'rlhf-rest-'));
    const prompts = [' a', ' b', ' c d', ' e', ' b c', ' d e']; // in-distribution: letters after a space
    const r = await trainReST(
      policy,
      tok,
      prompts,
      reward,
      {
        ...defaultReSTConfig,
        outDir: out,
        grows: 2,
        percentiles: [50, 80],
        samplesPerPrompt: 16,
        epochsPerImprove: 3,
        maxNewTokens: 6,
        lr: 2e-3,
        batchSize: 16,
        contextLength: 16,
        quiet: true,
      },
      () => {},
    );
    assert.equal(r.meanReward.length, 3);
    assert.ok(
      r.meanReward[2] > r.meanReward[0] + 0.5,
      `mean reward ${r.meanReward.map((x) => x.toFixed(2)).join(' → ')}`,
    );
    // Each Grow's Improve steps raise the reward, and the second Grow samples the improved policy: its
    // thresholds (percentiles of its own samples' rewards) are above the first Grow's at each percentile.
    assert.ok(r.meanReward[1] > r.meanReward[0] && r.meanReward[2] > r.meanReward[1], `${r.meanReward}`);
    const at = (grow: number, p: number) => r.improves.find((s) => s.grow === grow && s.percentile === p)!;
    for (const p of [50, 80]) {
      assert.ok(at(2, p).threshold > at(1, p).threshold, `p${p}: ${at(1, p).threshold} then ${at(2, p).threshold}`);
    }
    // The rising threshold narrows the set: the p80 Improve fine-tunes on fewer samples than the p50 one.
    for (const g of [1, 2])
      assert.ok(at(g, 80).kept < at(g, 50).kept, `grow ${g}: ${at(g, 50).kept}, ${at(g, 80).kept}`);
    // Reward-weighted behaviour cloning raises it too.
    const fresh = loadCheckpoint(dir).model;
    const w = await trainReST(
      fresh,
      tok,
      prompts,
      reward,
      {
        ...defaultReSTConfig,
        outDir: join(out, 'weighted'),
        grows: 2,
        percentiles: [50, 80],
        samplesPerPrompt: 16,
        epochsPerImprove: 3,
        maxNewTokens: 6,
        lr: 2e-3,
        batchSize: 16,
        contextLength: 16,
        rewardWeighted: true,
        quiet: true,
      },
      () => {},
    );
    assert.ok(
      w.meanReward[2] > w.meanReward[0] + 0.5,
      `reward-weighted: ${w.meanReward.map((x) => x.toFixed(2)).join(' → ')}`,
    );
    assert.ok(existsSync(join(out, 'model.safetensors')));
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l['rest/grow'] === 2 && l['rest/improve'] === 2));
  });

  it('learns what the reward selects: rewarding "e" raises the e count, not the a count', async () => {
    const { dir, model: policy, tok } = letterPolicy();
    const prompts = [' a', ' b', ' c d', ' e', ' b c', ' d e'];
    /** Mean count of each letter in 8 completions of every prompt. */
    const letters = async (model: GPT) => {
      const res = await new LocalGenerator(model, tok).generate(
        prompts.map((prompt) => ({ prompt, n: 8 })),
        { maxNewTokens: 6, temperature: 1, seed: 5 },
      );
      const texts = res.flatMap((r) => r.completions.map((c) => c.text));
      const mean = (l: string) => texts.reduce((a, t) => a + t.split(l).length - 1, 0) / texts.length;
      return { a: mean('a'), e: mean('e') };
    };
    const before = await letters(loadCheckpoint(dir).model);
    const countE = (items: { completion: string }[]) => items.map((it) => (it.completion.match(/e/g) ?? []).length);
    await trainReST(
      policy,
      tok,
      prompts,
      countE,
      {
        ...defaultReSTConfig,
        outDir: mkdtempSync(join(tmpdir(), 'rlhf-rest-e-')),
        grows: 1,
        percentiles: [50, 80],
        samplesPerPrompt: 16,
        epochsPerImprove: 3,
        maxNewTokens: 6,
        lr: 2e-3,
        batchSize: 16,
        contextLength: 16,
        quiet: true,
      },
      () => {},
    );
    const after = await letters(policy);
    const gainE = after.e - before.e,
      gainA = after.a - before.a;
    assert.ok(gainE > 0.5 && gainE > gainA + 0.5, `e ${before.e} → ${after.e}, a ${before.a} → ${after.a}`);
  });
});
