import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { Comparison } from '../data/comparison.js';
import { RewardModel } from '../model/reward-model.js';
import { scoreRewards } from '../runtime/reward.js';
import { defaultRewardConfig } from './reward-config.js';
import { calibration, pairMetrics, rankingPairs, splitComparisons, splitHoldout, trainRewardModel } from './reward.js';

/** A preference with a known rule: more "good" words is better (what people "prefer" here). */
function synthetic(n: number, seed: number, K = 2): Comparison[] {
  const rng = new RNG(seed);
  const words = ['the', 'a', 'cat', 'dog', 'runs', 'sleeps', 'bad', 'big', 'small'];
  const out: Comparison[] = [];
  for (let i = 0; i < n; i++) {
    const goods = rng.shuffle([0, 1, 2, 3]).slice(0, K); // distinct counts: a strict ranking
    const comps = goods.map((g) => {
      const ws = Array.from({ length: 6 }, (_, j) => (j < g ? 'good' : words[rng.int(words.length)]));
      return ' ' + rng.shuffle(ws).join(' ');
    });
    const ranking = comps.map((_, k) => k).sort((a, b) => goods[b] - goods[a]);
    out.push({ prompt: `Item ${i}:`, completions: comps, ranking });
  }
  return out;
}

const silent = () => {};
const base = {
  ...defaultRewardConfig,
  preset: 'tiny',
  vocabSize: 300,
  contextLength: 24,
  batchSize: 16,
  lr: 3e-3,
  warmupSteps: 10,
  evalEvery: 0,
  quiet: true,
};

describe('reward model training', () => {
  it('learns a synthetic preference well above chance, centers its rewards, and writes metrics', () => {
    const all = synthetic(900, 1);
    const { train, eval: ev } = splitComparisons(all, 0.2);
    assert.ok(ev.length > 50 && train.length > 400);
    const out = mkdtempSync(join(tmpdir(), 'rlhf-rm-'));
    const { rm, result } = trainRewardModel(train, ev, { ...base, outDir: out, epochs: 3 }, silent);
    assert.ok(result.eval!.accuracy > 0.8, `eval accuracy ${result.eval!.accuracy}`);
    assert.ok(Math.abs(result.eval!.reward_mean) < 1e-4, 'rewards centered on the eval set');
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    assert.equal(metrics.eval.accuracy, result.eval!.accuracy);
    assert.ok(metrics.calibration.length > 0);
    // "good" words are countable: the bag-of-words baseline finds them too; length does not
    assert.ok(metrics.baselines.bag_of_words.eval > 0.8 && Math.abs(metrics.baselines.length.eval - 0.5) < 0.15);
    assert.ok(existsSync(join(out, 'metrics.jsonl')));
    // the saved model scores like the trained one, bias included
    const loaded = RewardModel.load(out);
    const items = [
      { prompt: 'Item 1:', completion: ' good good cat' },
      { prompt: 'Item 1:', completion: ' bad dog' },
    ];
    const a = scoreRewards(rm, items),
      b = scoreRewards(loaded, items);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5));
    assert.ok(a[0] > a[1]);
  });

  it('a full run resumes from the weights it saved: 2 + 2 steps equal 4', () => {
    const data = synthetic(96, 4);
    const cfg = { ...base, steps: 4, batchSize: 8, evalFraction: 0 };
    const whole = trainRewardModel(data, [], { ...cfg, outDir: mkdtempSync(join(tmpdir(), 'rlhf-rm-')) }, silent);
    const out = mkdtempSync(join(tmpdir(), 'rlhf-rm-'));
    trainRewardModel(data, [], { ...cfg, outDir: out, stopAfter: 2 }, silent);
    const resumed = trainRewardModel(data, [], { ...cfg, outDir: out, resume: true }, silent);
    whole.rm.params.forEach((p, k) =>
      assert.deepEqual(resumed.rm.params[k].data, p.data, `${p.name} after resuming at step 2`),
    );
  });

  it('trains on rankings of K as all K(K−1)/2 pairs', () => {
    assert.deepEqual(rankingPairs([2, 0, 1]), [
      [2, 0],
      [2, 1],
      [0, 1],
    ]);
    const all = synthetic(400, 2, 3);
    const out = mkdtempSync(join(tmpdir(), 'rlhf-rm-'));
    const { result } = trainRewardModel(all.slice(0, 320), all.slice(320), { ...base, outDir: out, epochs: 3 }, silent);
    assert.equal(result.eval!.pairs, 3 * 80);
    assert.ok(result.eval!.accuracy > 0.7, `eval accuracy ${result.eval!.accuracy}`);
  });

  it('splits by prompt, and single-prompt scored pairs by their bucket', () => {
    const mk = (prompt: string, group?: string): Comparison => ({
      prompt,
      completions: ['a', 'b'],
      ranking: [0, 1],
      ...(group ? { meta: { group } } : {}),
    });
    const byPrompt = splitComparisons([...Array.from({ length: 200 }, (_, i) => mk(`p${i % 40}`))], 0.25);
    const trainPrompts = new Set(byPrompt.train.map((c) => c.prompt));
    assert.ok(byPrompt.eval.length > 0 && byPrompt.eval.every((c) => !trainPrompts.has(c.prompt)));
    const bucketed = splitComparisons(
      Array.from({ length: 200 }, (_, i) => mk('Rate:', `bucket ${i % 20}`)),
      0.25,
    );
    assert.ok(bucketed.eval.length > 0 && bucketed.train.length > 0);
    const trainBuckets = new Set(bucketed.train.map((c) => c.meta!.group));
    assert.ok(bucketed.eval.every((c) => !trainBuckets.has(c.meta!.group)));
  });

  it('--split-holdout: two disjoint parts by prompt, about the fraction, independent of the eval split', () => {
    const all = Array.from(
      { length: 2000 },
      (_, i): Comparison => ({
        prompt: `p${i % 1000}`,
        completions: ['a', 'b'],
        ranking: [0, 1],
      }),
    );
    const { train } = splitComparisons(all, 0.1);
    const { proxy, holdout } = splitHoldout(train, 0.3);
    assert.equal(proxy.length + holdout.length, train.length);
    const proxyPrompts = new Set(proxy.map((c) => c.prompt));
    assert.ok(
      holdout.every((c) => !proxyPrompts.has(c.prompt)),
      'no prompt on both sides',
    );
    assert.ok(Math.abs(holdout.length / train.length - 0.3) < 0.05, `${holdout.length} of ${train.length}`);
    // A fraction below the eval split's still finds comparisons: its hash is salted.
    assert.ok(splitHoldout(train, 0.05).holdout.length > 0);
    assert.deepEqual(splitHoldout(train, 0.3).holdout, holdout, 'the same split every time');
    assert.throws(() => splitHoldout(train, 1), /must be in \(0, 1\), got 1/);
    assert.throws(() => splitHoldout(train.slice(0, 1), 0.5), /both need some/);
  });

  it('metrics: ties count half, calibration buckets agree with the predictions', () => {
    const m = pairMetrics([1, 0, 2], [0, 0, 3]);
    assert.equal(m.accuracy, 0.5);
    assert.ok(Math.abs(m.margin - 0) < 1e-12);
    const cal = calibration([5, 5, 5, 5], [0, 0, 0, 0], 10, 3);
    for (const b of cal) assert.ok(b.observed === 1 ? b.predicted > 0.99 : b.predicted < 0.01);
  });
});
