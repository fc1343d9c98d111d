import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import { presetConfig } from '../model/config.js';
import type { CausalLM } from '../model/causal-lm.js';
import { createModel } from '../model/create-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { assertClose } from '../test-support/assert-close.js';
import { cutAtStop, halfWidth95, klToReference, mean, partingPoint, promptIds, winRate } from './evaluate.js';

const run = (gold: number[], proxy: number[]) =>
  gold.map((g, i) => ({ step: i + 1, kl: 2 * i, gold: g, proxy: proxy[i] }));

test('partingPoint finds where gold peaks while the proxy keeps rising', () => {
  const p = partingPoint(run([0, 0.2, 0.4, 0.5, 0.45, 0.2, 0, -0.2], [0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1]))!;
  assert.equal(p.step, 4);
  assert.ok(Math.abs(p.gold - (0.4 + 0.5 + 0.45) / 3) < 1e-12, 'a 3-point moving mean');
  assert.ok(Math.abs(p.kl - 6) < 1e-12);
  assert.ok(p.goldChangeAfter < -0.5 && p.proxyChangeAfter > 0.8);
  assert.equal(p.parted, true);
});

test('partingPoint: a run whose gold still rises at its end has not parted', () => {
  const p = partingPoint(run([0, 0.1, 0.2, 0.3, 0.4], [0, 0.1, 0.2, 0.3, 0.4]))!;
  assert.equal(p.step, 5);
  assert.equal(p.parted, false);
  // Gold flat after its peak while the proxy climbs: they have parted, though gold did not fall much.
  const flat = partingPoint(run([0, 0.2, 0.4, 0.4, 0.39, 0.4, 0.39], [0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]))!;
  assert.equal(flat.parted, true);
  assert.ok(flat.goldChangeAfter > -0.02 && flat.proxyChangeAfter > 0.5);
  // Noise is not parting: a proxy rise under minProxyRise does not count.
  const small = run([0, 0.1, 0.2, 0.19, 0.18], [0, 0.1, 0.2, 0.22, 0.24]);
  assert.equal(partingPoint(small)!.parted, true);
  assert.equal(partingPoint(small, 0.05)!.parted, false);
  // Gold and proxy falling together is not over-optimization either.
  assert.equal(partingPoint(run([0, 0.5, 0.6, 0.2, 0], [0, 0.5, 0.6, 0.2, 0]))!.parted, false);
});

test('partingPoint: one noisy batch does not make the peak', () => {
  // The highest single batch is step 3's, but the steadier plateau around step 6 is higher on average.
  const p = partingPoint(run([0, 0.1, 0.8, 0.1, 0.5, 0.5, 0.5, 0.2], [0, 1, 2, 3, 4, 5, 6, 7]))!;
  assert.equal(p.step, 6);
  assert.equal(partingPoint(run([0, 1], [0, 1])), null, 'too few points to say');
});

test('cutAtStop: the earliest stop string wins, whatever its place in the list', () => {
  assert.equal(cutAtStop(' one. two\nthree', ['\n', '.']), ' one');
  assert.equal(cutAtStop(' one. two\nthree', ['.', '\n']), ' one');
  assert.equal(cutAtStop(' a b###c.', ['.', '###']), ' a b', 'a longer stop string earlier in the text');
  // No stop string in the text, or none given: the whole text, trailing space trimmed, leading kept.
  assert.equal(cutAtStop(' hello world  ', ['\n']), ' hello world');
  assert.equal(cutAtStop(' hello world', []), ' hello world');
  // A stop at position 0 leaves nothing; an empty stop string is ignored.
  assert.equal(cutAtStop('\nlater', ['\n']), '');
  assert.equal(cutAtStop(' abc', ['']), ' abc');
  assert.equal(cutAtStop(' done   \nmore', ['\n']), ' done', 'the space before the stop goes too');
});

test('winRate: wins count 1, ties a half, losses 0, over paired scores', () => {
  assert.equal(winRate([1, 2, 3, 3], [0, 2, 4, 3]), (1 + 0.5 + 0 + 0.5) / 4);
  assert.equal(winRate([5, 5], [5, 5]), 0.5, 'all ties');
  assert.equal(winRate([1, 1, 1], [0, 0, 0]), 1);
  const a = [0.3, -1, 2, 2, 0.1],
    b = [0.2, -1, 3, 1, 0.4];
  assert.equal(winRate(a, b) + winRate(b, a), 1, 'P(a beats b) + P(b beats a) = 1 with ties split');
  assert.ok(Number.isNaN(winRate([], [])));
  assert.throws(() => winRate([1, 2], [1]), /paired scores, got 2 and 1/);
});

test('halfWidth95: 1.96 standard errors of the mean, and it covers the true mean 95% of the time', () => {
  // mean 3, sample variance 2.5: 1.96·√(2.5/5)
  assertClose(halfWidth95([1, 2, 3, 4, 5]), 1.96 * Math.sqrt(0.5), 1e-12, 'half-width');
  assert.equal(halfWidth95([4, 4, 4]), 0);
  assert.ok(Number.isNaN(halfWidth95([1])), 'one score has no spread');
  const rng = new RNG(3),
    trials = 2000,
    n = 60;
  let covered = 0;
  for (let k = 0; k < trials; k++) {
    const xs = Array.from({ length: n }, () => 1.5 + 2 * rng.normal());
    if (Math.abs(mean(xs) - 1.5) <= halfWidth95(xs)) covered++;
  }
  // The normal approximation at n = 60 covers ~94.6%; 4 binomial standard errors are ±2%.
  assertClose(covered / trials, 0.946, 0.02, 'coverage of the 95% interval');
});

// ---- klToReference ----

// A model whose next-token distributions are far from uniform (a fresh GPT-2 init is nearly uniform).
function peakedModel(tok: Tokenizer, seed: number): CausalLM {
  const model = createModel(presetConfig('tiny', { vocabSize: tok.vocabSize, eosTokenId: tok.eosId }), seed);
  new RNG(seed + 100).fillNormal(model.param('transformer.wte.weight').data, 0.3);
  return model;
}

/** log p(y_t | prompt, y_<t) of each completion token, from one full forward: the test's own reading. */
function tokenLogProbs(model: CausalLM, prompt: number[], completion: number[]): number[] {
  const seq = [...prompt, ...completion];
  const V = model.config.vocabSize,
    T = seq.length - 1;
  const g = Graph.inference();
  const logits = model.forward(g, Int32Array.from(seq.slice(0, T)), 1, T).data;
  const out = completion.map((y, k) => {
    const row = logits.subarray((prompt.length - 1 + k) * V, (prompt.length + k) * V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    return row[y] - lse;
  });
  g.dispose();
  return out;
}

test('klToReference: the mean over samples of Σ_t log π − log π_ref, each model on its own prompt', () => {
  const tok = Tokenizer.train(['aaa bbb ccc ddd eee abc cab'], { vocabSize: 262 });
  const policy = peakedModel(tok, 1),
    ref = peakedModel(tok, 2);
  const ctx = policy.config.nPositions,
    maxNew = 4;
  const samples = [
    { text: '', tokens: [...tok.encode(' ab'), tok.eosId] },
    { text: '', tokens: tok.encode(' cc d').slice(0, maxNew) },
  ];
  const pPrompts = [' aaa', ' bb c'],
    rPrompts = [' eee', ' bb c'];
  const want =
    samples.reduce((acc, s, i) => {
      const lp = tokenLogProbs(policy, promptIds(tok, pPrompts[i], ctx, maxNew), s.tokens);
      const lr = tokenLogProbs(ref, promptIds(tok, rPrompts[i], ctx, maxNew), s.tokens);
      return acc + lp.reduce((a, x, t) => a + x - lr[t], 0);
    }, 0) / samples.length;
  assert.ok(Math.abs(want) > 0.1, `the two models should differ here (got ${want})`);
  assertClose(klToReference(policy, ref, tok, pPrompts, rPrompts, samples, maxNew), want, 1e-4, 'KL estimate');
  assert.equal(klToReference(policy, policy, tok, pPrompts, pPrompts, samples, maxNew), 0, 'a model against itself');
  assert.equal(klToReference(policy, ref, tok, [], [], [], maxNew), 0, 'no samples');
});

test("klToReference on the policy's own samples estimates the exact KL of the next-token distributions", () => {
  const tok = Tokenizer.train(['aaa bbb ccc ddd eee abc cab'], { vocabSize: 262 });
  const policy = peakedModel(tok, 3),
    ref = peakedModel(tok, 4);
  const prompt = ' abc',
    ids = promptIds(tok, prompt, policy.config.nPositions, 1);
  const dist = (m: CausalLM) => {
    const lp = Array.from({ length: tok.vocabSize }, (_, y) => tokenLogProbs(m, ids, [y])[0]);
    return { lp, p: lp.map(Math.exp) };
  };
  const P = dist(policy),
    Q = dist(ref);
  const logRatio = P.lp.map((x, y) => x - Q.lp[y]);
  const exact = P.p.reduce((a, p, y) => a + p * logRatio[y], 0);
  const sd = Math.sqrt(P.p.reduce((a, p, y) => a + p * (logRatio[y] - exact) ** 2, 0));
  const rng = new RNG(9),
    n = 3000;
  const samples = Array.from({ length: n }, () => ({ text: '', tokens: [rng.categorical(P.p)] }));
  const prompts = samples.map(() => prompt);
  const estimate = klToReference(policy, ref, tok, prompts, prompts, samples, 1);
  assert.ok(exact > 0.05, `the two distributions should differ (KL ${exact})`);
  assertClose(estimate, exact, (4 * sd) / Math.sqrt(n), 'KL estimate (4 standard errors)');
});
