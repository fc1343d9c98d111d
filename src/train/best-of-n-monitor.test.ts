// The best-of-N monitor on fixed samples, with every figure worked by hand.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertClose } from '../test-support/assert-close.js';
import { bestOfNKL } from './best-of-n.js';
import { chooseBest, monitorBestOfN, sweepValues } from './best-of-n-monitor.js';
import type { GenerationOptions, GenerationRequest, Generator } from './generator.js';
import { defaultMonitorOptions } from './monitor-options.js';
import { holdoutRewardSignal, preferenceSignal } from './monitor-signals.js';
import { type RewardFn, singleRewardSet } from './reward-fn.js';

/** A generator that answers each prompt with the given texts, in order (the seed picks nothing). */
function fixed(texts: Record<string, string[]>): Generator {
  return {
    name: 'fixed',
    async generate(requests: GenerationRequest[], _o: GenerationOptions) {
      return requests.map((r) => ({
        prompt: r.prompt,
        completions: texts[r.prompt].slice(0, r.n).map((text) => ({ text, finishReason: 'stop', tokens: text.length })),
      }));
    },
  };
}

const countA: RewardFn = (items) => items.map((it) => (it.completion.match(/a/g) ?? []).length);
// "What people want": some a, but more than two is too much.
const trueQuality: RewardFn = (items) =>
  items.map((it) => {
    const n = (it.completion.match(/a/g) ?? []).length;
    return n <= 2 ? n : -n;
  });

test('sweepValues and chooseBest', () => {
  assert.deepEqual(sweepValues(1), [1]);
  assert.deepEqual(sweepValues(4), [1, 2, 4]);
  assert.deepEqual(sweepValues(6), [1, 2, 4, 6]);
  // prompt 0's scores 0 1 2 4, prompt 1's 1 0 3 0: best of 2 → indices 1 and 4; of 4 → 3 and 6
  assert.deepEqual(chooseBest([0, 1, 2, 4, 1, 0, 3, 0], 2, 4, 2), [1, 4]);
  assert.deepEqual(chooseBest([0, 1, 2, 4, 1, 0, 3, 0], 2, 4, 4), [3, 6]);
  assert.deepEqual(chooseBest([5, 5], 1, 2, 2), [0], 'the first on a tie');
});

test('monitorBestOfN: the proxy rises with N, the second reward peaks and falls; the monitor picks N', async () => {
  const gen = fixed({ p0: ['b', 'a', 'aa', 'aaaa'], p1: ['a', 'b', 'aaa', 'b'] });
  const file = join(mkdtempSync(join(tmpdir(), 'rlhf-bon-monitor-')), 'sweep.jsonl');
  const logs: string[] = [];
  const r = await monitorBestOfN(
    gen,
    null,
    {
      options: { ...defaultMonitorOptions, monitorPrompts: 'x' },
      prompts: ['p0', 'p1'].map((prompt) => ({ prompt, columns: {} })),
      signals: [holdoutRewardSignal(singleRewardSet(trueQuality))],
      watch: singleRewardSet(countA, 'a'),
    },
    singleRewardSet(countA),
    4,
    { maxNewTokens: 4, temperature: 1 },
    (m) => logs.push(m),
    file,
  );
  // proxy (count of a): p0 0 1 2 4, p1 1 0 3 0. Kept: N=1 → b, a (0, 1); N=2 → a, a (1, 1); N=4 → aaaa, aaa (4, 3).
  // The second reward of those: N=1 (0 + 1)/2 = 0.5; N=2 1; N=4 (−4 − 3)/2 = −3.5.
  assert.deepEqual(
    r.points.map((p) => p.n),
    [1, 2, 4],
  );
  assert.deepEqual(
    r.points.map((p) => p.metrics['monitor/proxy']),
    [0.5, 1, 3.5],
  );
  assert.deepEqual(
    r.points.map((p) => p.metrics['monitor/holdout_reward']),
    [0.5, 1, -3.5],
  );
  assert.deepEqual(
    r.points.map((p) => p.metrics['monitor/reward/a']),
    [0.5, 1, 3.5],
  );
  r.points.forEach((p) => assertClose(p.metrics['monitor/kl'], bestOfNKL(p.n), 1e-12));
  assert.deepEqual(
    r.points.map((p) => p.metrics['monitor/length']),
    [1, 1, 3.5],
  );
  // Moving means of the signal: (0.5 + 1)/2 = 0.75, (0.5 + 1 − 3.5)/3 = −0.667, (1 − 3.5)/2 = −1.25: N = 1.
  // The proxy's: 0.75, 1.667, 2.25, so it rose 1.5 after the peak, more than 0.25 × sd(0, 1) = 0.177: parted.
  assert.equal(r.signal, 'holdout_reward');
  assert.equal(r.bestN, 1);
  assert.equal(r.parting?.parted, true);
  assertClose(r.parting!.proxyChangeAfter, 1.5, 1e-12);
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.n),
    [1, 2, 4],
  );
  assert.equal(logs.length, 4);
  // A signal of a trained policy has nothing to say here.
  await assert.rejects(
    monitorBestOfN(
      gen,
      null,
      {
        options: { ...defaultMonitorOptions, monitorPrompts: 'x' },
        prompts: [{ prompt: 'p0', columns: {} }],
        signals: [preferenceSignal([])],
        watch: null,
      },
      singleRewardSet(countA),
      2,
      { maxNewTokens: 4, temperature: 1 },
      () => {},
    ),
    /pref_accuracy measures a trained policy/,
  );
});
