import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Comparison, parseComparison } from '../data/comparison.js';
import { defaultLabelers, labelAgreement, SimulatedLabeler, simulateLabels } from './labelers.js';
import type { GoldJudge } from './types.js';
import { assertClose } from '../test-support/assert-close.js';

// A gold judge that reads the score off the completion ("0.25 #3" scores 0.25), so gaps are exact.
const numberJudge: GoldJudge = {
  name: 'number',
  score: (_p, c) => Number.parseFloat(c) || 0,
  explain: (p, c) => ({ score: numberJudge.score(p, c) }),
};

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** n distinct pairs whose gold gap (a − b) is `gap`. */
function pairsWithGap(n: number, gap: number) {
  return Array.from({ length: n }, (_, i) => ({ prompt: `p${i}`, a: `${gap / 2} #${i}`, b: `${-gap / 2} #${i}` }));
}

/** n pairs with gaps spread over [−1, 1]. */
function spreadPairs(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const ga = ((i * 37) % 101) / 50 - 1,
      gb = ((i * 61 + 13) % 101) / 50 - 1;
    return { prompt: `p${i}`, a: `${ga} a${i}`, b: `${gb} b${i}` };
  }).filter((p) => numberJudge.score('', p.a) !== numberJudge.score('', p.b));
}

test('calibration: the share of A wins matches sigmoid(beta·gap) over many draws', () => {
  for (const [beta, gap] of [
    [4, 0.25],
    [10, 0.1],
    [2, -0.5],
    [0, 0.8],
  ]) {
    const n = 4000;
    const labels = simulateLabels(pairsWithGap(n, gap), numberJudge, [{ id: 'x', beta, careless: 0 }], { seed: 3 });
    const p = sigmoid(beta * gap);
    const observed = labels.filter((c) => c.ranking[0] === 0).length / n;
    const se = Math.sqrt((p * (1 - p)) / n);
    assertClose(observed, p, 4 * se + 1e-9, `share of A wins at beta ${beta}, gap ${gap} (4 standard errors)`);
  }
});

test('calibration with carelessness: P(A) = careless/2 + (1 − careless)·sigmoid', () => {
  const n = 4000,
    careless = 0.4,
    beta = 20,
    gap = 0.3;
  const labels = simulateLabels(pairsWithGap(n, gap), numberJudge, [{ id: 'c', beta, careless }], { seed: 5 });
  const p = careless / 2 + (1 - careless) * sigmoid(beta * gap);
  const observed = labels.filter((c) => c.ranking[0] === 0).length / n;
  assertClose(observed, p, 4 * Math.sqrt((p * (1 - p)) / n), 'share of A wins (4 standard errors)');
});

test('agreement with gold rises with beta; careless labelers agree less', () => {
  const pairs = spreadPairs(3000);
  const agreement = (l: SimulatedLabeler) =>
    labelAgreement(simulateLabels(pairs, numberJudge, [l], { seed: 11 }), numberJudge).withGold;
  const byBeta = [1, 3, 10, 30].map((beta) => agreement({ id: `b${beta}`, beta, careless: 0 }));
  for (let i = 1; i < byBeta.length; i++)
    assert.ok(byBeta[i] > byBeta[i - 1], `agreement by beta: ${byBeta.map((x) => x.toFixed(3)).join(' < ')}`);
  assert.ok(byBeta[3] > 0.95);
  const careful = agreement({ id: 'a', beta: 10, careless: 0 }),
    careless = agreement({ id: 'c', beta: 10, careless: 0.5 });
  assert.ok(careless < careful - 0.15, `careless ${careless} vs careful ${careful}`);
  assertClose(agreement({ id: 'r', beta: 10, careless: 1 }), 0.5, 0.05, 'an always careless labeler (a coin)');
});

test('the default pool: five attentive labelers of varied noise and two careless ones, ranked as expected', () => {
  const pool = defaultLabelers();
  assert.equal(pool.length, 7);
  assert.equal(pool.filter((l) => l.careless > 0).length, 2);
  assert.equal(new Set(pool.map((l) => l.id)).size, pool.length);
  const labels = simulateLabels(spreadPairs(6000), numberJudge, pool, { seed: 1, perPair: 2 });
  const a = labelAgreement(labels, numberJudge);
  const per = a.perLabeler;
  assert.ok(per['sim-1'].withGold > per['sim-5'].withGold, 'beta 16 beats beta 4');
  for (const careless of ['sim-careless-1', 'sim-careless-2']) {
    for (const good of ['sim-1', 'sim-2', 'sim-3'])
      assert.ok(per[careless].withGold < per[good].withGold, `${careless} < ${good}`);
  }
  assert.ok(
    a.betweenLabelers !== null && a.betweenLabelers < a.withGold,
    'two noisy labelers agree with each other less than with gold',
  );
  assert.equal(a.labelerPairs, labels.length / 2);
});

test('records: valid comparisons with labeler, confidence on the 9-point scale, and the pair index', () => {
  const pairs = [
    { prompt: 'p', a: '0.9 yes', b: '-0.9 no' },
    { prompt: 'q', a: '0.1 x', b: '0.2 y' },
  ];
  const labels = simulateLabels(pairs, numberJudge, defaultLabelers(), { seed: 2, perPair: 3 });
  assert.equal(labels.length, 6);
  for (const c of labels) {
    assert.deepEqual(parseComparison(c as unknown as Record<string, unknown>), c, 'round-trips through the data layer');
    assert.ok(Number.isInteger(c.confidence! * 8) && c.confidence! >= 0 && c.confidence! <= 1);
    assert.equal(c.source, 'simulated');
  }
  for (const i of [0, 1]) {
    const mine = labels.filter((c) => c.meta?.pair === i);
    assert.equal(new Set(mine.map((c) => c.labeler)).size, 3, 'distinct labelers per pair');
    assert.deepEqual(mine[0].completions, [pairs[i].a, pairs[i].b], 'the order shown is kept');
  }
  // A careful labeler on a wide gap is sure; on a narrow one, less so.
  const sure = simulateLabels([pairs[0]], numberJudge, [{ id: 's', beta: 16, careless: 0 }], { seed: 0 })[0];
  const unsure = simulateLabels([pairs[1]], numberJudge, [{ id: 's', beta: 16, careless: 0 }], { seed: 0 })[0];
  assert.equal(sure.confidence, 1);
  assert.ok(unsure.confidence! < 1 && unsure.confidence! > 0);
});

test('deterministic by seed, and pair i does not depend on the other pairs', () => {
  const pairs = spreadPairs(200);
  const a = simulateLabels(pairs, numberJudge, defaultLabelers(), { seed: 9, perPair: 2 });
  assert.deepEqual(simulateLabels(pairs, numberJudge, defaultLabelers(), { seed: 9, perPair: 2 }), a);
  assert.notDeepEqual(simulateLabels(pairs, numberJudge, defaultLabelers(), { seed: 10, perPair: 2 }), a);
  const head = simulateLabels(pairs.slice(0, 50), numberJudge, defaultLabelers(), { seed: 9, perPair: 2 });
  assert.deepEqual(head, a.slice(0, 100));
});

test('bad input gets a clear error', () => {
  const pool = defaultLabelers();
  const ok = [{ prompt: 'p', a: '1 a', b: '0 b' }];
  assert.throws(() => simulateLabels(ok, numberJudge, [], { seed: 0 }), /labelers must be a non-empty array/);
  assert.throws(
    () => simulateLabels(ok, numberJudge, [{ id: 'x', beta: -1, careless: 0 }], { seed: 0 }),
    /labelers\[0\]\.beta must be a finite number ≥ 0/,
  );
  assert.throws(
    () => simulateLabels(ok, numberJudge, [{ id: 'x', beta: 1, careless: 2 }], { seed: 0 }),
    /labelers\[0\]\.careless must be a probability/,
  );
  assert.throws(
    () =>
      simulateLabels(
        ok,
        numberJudge,
        [
          { id: 'x', beta: 1, careless: 0 },
          { id: 'x', beta: 1, careless: 0 },
        ],
        { seed: 0 },
      ),
    /labelers\[1\]\.id "x" is used twice/,
  );
  assert.throws(
    () => simulateLabels(ok, numberJudge, pool, { seed: 0, perPair: 8 }),
    /perPair must be an integer in \[1, 7\]/,
  );
  assert.throws(() => simulateLabels(ok, numberJudge, pool, { seed: 0.5 }), /seed must be an integer/);
  assert.throws(
    () => simulateLabels([ok[0], { prompt: 'p', a: 'same', b: 'same' }], numberJudge, pool, { seed: 0 }),
    /pairs\[1\]: a and b are the same text/,
  );
  assert.throws(
    () => simulateLabels([{ prompt: 'p', a: '', b: 'x' }], numberJudge, pool, { seed: 0 }),
    /pairs\[0\]: a is empty/,
  );
  assert.equal(
    simulateLabels([{ prompt: 'p', a: ' ', b: 'x' }], numberJudge, pool, { seed: 0 }).length,
    1,
    'whitespace is a completion, as in the data layer',
  );
  const nan: GoldJudge = { name: 'nan', score: () => NaN, explain: () => ({}) };
  assert.throws(() => simulateLabels(ok, nan, pool, { seed: 0 }), /pairs\[0\]: the gold judge "nan" returned NaN/);
  assert.throws(() => labelAgreement([], numberJudge), /no comparisons/);
});

test('labelAgreement on hand-made labels: gold ties left out, labelers on the same pair compared', () => {
  const c = (a: string, b: string, winner: 0 | 1, labeler: string): Comparison => ({
    prompt: 'p',
    completions: [a, b],
    ranking: winner === 0 ? [0, 1] : [1, 0],
    labeler,
  });
  const labels = [
    c('0.9 x', '0.1 y', 0, 'u1'), // agrees with gold
    c('0.1 y', '0.9 x', 1, 'u2'), // same pair shown the other way round, same winner: agrees with u1 and gold
    c('0.9 x', '0.1 y', 1, 'u3'), // disagrees with gold, u1 and u2
    c('0.5 z', '0.5 w', 0, 'u1'), // a gold tie
  ];
  const a = labelAgreement(labels, numberJudge);
  assert.equal(a.n, 3);
  assert.equal(a.goldTies, 1);
  assert.equal(a.withGold, 2 / 3);
  assert.equal(a.labelerPairs, 3);
  assert.equal(a.betweenLabelers, 1 / 3);
  assert.deepEqual(a.perLabeler, { u1: { n: 1, withGold: 1 }, u2: { n: 1, withGold: 1 }, u3: { n: 1, withGold: 0 } });
  assert.equal(labelAgreement([labels[0]], numberJudge).betweenLabelers, null);
});
