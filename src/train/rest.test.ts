import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { LocalGenerator } from './generator.js';
import { countA, letterPolicy } from './test-fixtures.js';
import { defaultReSTConfig, percentile, trainReST, validateReSTConfig } from './rest.js';

describe('ReST', () => {
  it('percentiles interpolate; thresholds must rise', () => {
    assert.equal(percentile([1, 2, 3, 4, 5], 50), 3);
    assert.equal(percentile([0, 10], 25), 2.5);
    assert.throws(
      () => validateReSTConfig({ ...defaultReSTConfig, outDir: 'x', percentiles: [70, 50] }),
      /percentiles \(--percentiles\) must be .*rising, got \[70,50\]/,
    );
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
    // samples.jsonl: each Grow's 6 × 16 samples (--samples-every 1, the default), scored as Grow scored them.
    const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      samples.map((x) => x.grow),
      [...Array(96).fill(1), ...Array(96).fill(2)],
    );
    assert.deepEqual(Object.keys(samples[0]), ['grow', 'prompt', 'completion', 'reward', 'rewards', 'finish_reason']);
    for (const x of samples) {
      assert.equal(x.reward, countA([x])[0]);
      assert.deepEqual(x.rewards, { reward: x.reward });
      assert.ok(x.finish_reason === 'stop' || x.finish_reason === 'length');
    }
    const mean = (g: number) => samples.filter((x) => x.grow === g).reduce((a, x) => a + x.reward, 0) / 96;
    assert.ok(mean(2) > mean(1), `the second Grow samples the improved policy: ${mean(1)} → ${mean(2)}`);
  });

  it('learns what the reward selects: rewarding "e" raises the e count, not the a count', async () => {
    const { dir, model: policy, tok } = letterPolicy();
    const prompts = [' a', ' b', ' c d', ' e', ' b c', ' d e'];
    /** Mean count of each letter in 8 completions of every prompt. */
    const letters = async (model: CausalLM) => {
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

  it("scores Grow's samples cut at the stop strings, as evaluation judges them", async () => {
    const { model: policy, tok } = letterPolicy();
    const scored: string[] = [];
    const reward = (items: { completion: string }[]) => (
      items.forEach((it) => scored.push(it.completion)), countA(items)
    );
    await trainReST(
      policy,
      tok,
      [' a', ' b', ' d e'],
      reward,
      {
        ...defaultReSTConfig,
        outDir: mkdtempSync(join(tmpdir(), 'rlhf-rest-stop-')),
        grows: 1,
        percentiles: [50],
        samplesPerPrompt: 8,
        maxNewTokens: 8,
        stop: [' c'],
        quiet: true,
      },
      () => {},
    );
    assert.ok(scored.length >= 24, `${scored.length} scored`);
    assert.deepEqual(
      scored.filter((c) => c.includes(' c')),
      [],
    );
    // The policy writes " c" often: some samples were cut short of maxNewTokens.
    assert.ok(
      scored.some((c) => c.length < 2 * 8 - 2),
      JSON.stringify(scored.slice(0, 8)),
    );
  });

  it("keeps the original data in each Grow's set: scored, filtered by the same thresholds, and learned", async () => {
    const { model: policy, tok } = letterPolicy();
    const prompts = [' a', ' b', ' d e'];
    // The policy writes letters a–e only: " z z" scores above every sample, " y y" below.
    const reward = (items: { completion: string }[]) =>
      items.map((it) => {
        const n = (c: string) => (it.completion.match(new RegExp(c, 'g')) ?? []).length;
        return n('a') + 10 * n('z') - 10 * n('y');
      });
    const demonstrations = [
      ...prompts.map((prompt) => ({ prompt, completion: ' z z' })),
      { prompt: ' c', completion: ' y y' },
    ];
    const logProbOfZ = () =>
      completionLogProbs(
        policy,
        prompts.map((p) => ({ prompt: tok.encode(p), completion: tok.encode(' z z') })),
        tok.eosId,
      ).reduce((a, lp) => a + lp.reduce((x, y) => x + y, 0), 0) / prompts.length;
    const before = logProbOfZ();
    const r = await trainReST(
      policy,
      tok,
      prompts,
      reward,
      {
        ...defaultReSTConfig,
        outDir: mkdtempSync(join(tmpdir(), 'rlhf-rest-demos-')),
        grows: 2,
        percentiles: [50, 80],
        samplesPerPrompt: 8,
        epochsPerImprove: 2,
        maxNewTokens: 6,
        lr: 2e-3,
        contextLength: 16,
        quiet: true,
      },
      () => {},
      { demonstrations },
    );
    // Every Improve step of every Grow keeps the three " z z" and drops " y y".
    assert.deepEqual(
      r.improves.map((s) => s.keptDemonstrations),
      [3, 3, 3, 3],
    );
    assert.ok(r.improves.every((s) => s.kept > 3));
    const after = logProbOfZ();
    assert.ok(after > before + 2, `log π(" z z") ${before.toFixed(2)} → ${after.toFixed(2)}`);
  });

  describe('stops Improving when the reward on held-out prompts stops rising', () => {
    const prompts = [' a', ' b', ' c d', ' b c'];
    const heldOut = [' e', ' d', ' e a', ' c', ' a b', ' d d', ' c e', ' b b', ' e e', ' a c d'];
    const settings = {
      ...defaultReSTConfig,
      grows: 1,
      samplesPerPrompt: 16,
      epochsPerImprove: 3,
      maxNewTokens: 8,
      lr: 2e-3,
      contextLength: 20,
      quiet: true,
    };
    const params = (m: { params: { data: Float32Array }[] }) => m.params.map((p) => Array.from(p.data));

    it("undoes a step that lowers it, on disk too, and skips the Grow's remaining Improve steps", async () => {
      const { model: policy, tok } = letterPolicy();
      const start = params(policy);
      // More "a" is better on the Grow prompts and worse on the held-out ones.
      const reward = (items: { prompt: string; completion: string }[]) =>
        countA(items).map((n, i) => (heldOut.includes(items[i].prompt) ? -n : n));
      const outDir = mkdtempSync(join(tmpdir(), 'rlhf-rest-early-'));
      const r = await trainReST(
        policy,
        tok,
        prompts,
        reward,
        { ...settings, outDir, percentiles: [50, 80] },
        () => {},
        {
          heldOut,
        },
      );
      assert.equal(r.improves.length, 1, JSON.stringify(r.improves));
      assert.equal(r.improves[0].undone, true);
      assert.deepEqual(params(policy), start);
      assert.deepEqual(params(loadCheckpoint(outDir).model), start);
    });

    it('keeps a step that raises it', async () => {
      const { model: policy, tok } = letterPolicy();
      const start = params(policy);
      const outDir = mkdtempSync(join(tmpdir(), 'rlhf-rest-early-'));
      const r = await trainReST(policy, tok, prompts, countA, { ...settings, outDir, percentiles: [50] }, () => {}, {
        heldOut,
      });
      assert.equal(r.improves[0].undone, false, JSON.stringify(r.improves));
      assert.notDeepEqual(params(policy), start);
      const lines = readFileSync(join(outDir, 'rest.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.ok(lines[1].held_out_reward > lines[0].held_out_reward, JSON.stringify(lines));
    });

    it("holds out a fraction of the prompts by hash, or takes a file's, not both", async () => {
      const { model: policy, tok } = letterPolicy(1);
      const outDir = mkdtempSync(join(tmpdir(), 'rlhf-rest-early-'));
      const cfg = { ...settings, outDir, heldOutFraction: 0.5 };
      await assert.rejects(
        trainReST(policy, tok, prompts, countA, cfg, () => {}, { heldOut }),
        /held-out prompts or heldOutFraction \(--held-out-fraction\), not both/,
      );
      await assert.rejects(
        trainReST(policy, tok, [' a'], countA, cfg, () => {}),
        /heldOutFraction \(--held-out-fraction\) 0.5 of 1 prompts leaves/,
      );
    });
  });
});
