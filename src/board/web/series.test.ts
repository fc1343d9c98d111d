import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { POINT_BUDGET, Series, Smoother, formatValue, orderMetrics } from './series.js';

const rec = (line: number, value: Record<string, unknown>) => ({ line, value });
const xy = (s: Series, metric: string) => s.points.get(metric)?.map((p) => [p.x, p.y]);

describe('metric lines as points', () => {
  it('plots every finite number against the step; the step fields and other values are not metrics', () => {
    const s = new Series('run');
    const u = s.add([
      rec(1, { step: 1, loss: 2, 'rest/grow': 1, note: 'x', ok: true, bad: null }),
      rec(2, { step: 2, loss: 1.5, 'objective/kl': 0.1 }),
    ]);
    assert.deepEqual([...u.added.keys()], ['loss', 'rest/grow', 'objective/kl']);
    assert.deepEqual(xy(s, 'loss'), [
      [1, 2],
      [2, 1.5],
    ]);
    assert.equal(s.xField, 'step');
    assert.equal(s.latest('objective/kl'), 0.1);
    assert.equal(s.points.get('loss')![0].run, 'run');
  });

  it("PPO's lines go by iteration, rest.jsonl's by grow, others by line number", () => {
    const ppo = new Series('p');
    ppo.add([rec(1, { iteration: 1, 'objective/kl': 0 }), rec(2, { iteration: 2, 'objective/kl': 0.2 })]);
    assert.equal(ppo.xField, 'iteration');
    assert.deepEqual(xy(ppo, 'objective/kl'), [
      [1, 0],
      [2, 0.2],
    ]);
    const rest = new Series('r');
    rest.add([rec(1, { grow: 0, mean_reward: 1 }), rec(2, { grow: 1, mean_reward: 2 })]);
    assert.deepEqual(xy(rest, 'mean_reward'), [
      [0, 1],
      [1, 2],
    ]);
    const plain = new Series('x');
    plain.add([rec(4, { a: 1 }), rec(5, { a: 2 })]);
    assert.equal(plain.xField, null);
    assert.deepEqual(xy(plain, 'a'), [
      [4, 1],
      [5, 2],
    ]);
  });

  it("ReST's Improve loops each start at step 1: their steps continue the run's", () => {
    const s = new Series('rest');
    s.add([1, 2, 3].map((step) => rec(step, { step, 'train/loss': step })));
    const u = s.add([1, 2].map((step) => rec(step + 3, { step, 'train/loss': 10 + step })));
    assert.equal(u.replaced, false);
    assert.deepEqual(
      xy(s, 'train/loss')!.map(([x]) => x),
      [1, 2, 3, 4, 5],
    );
    s.add([rec(6, { step: 1, 'train/loss': 20 })]);
    assert.equal(s.lastX, 6);
  });

  it('a resumed run logs again from its checkpoint: those steps replace the earlier ones', () => {
    const s = new Series('resumed');
    s.add([1, 2, 3, 4].map((step) => rec(step, { step, loss: step })));
    const u = s.add([3, 4, 5].map((step) => rec(step + 4, { step, loss: 10 * step })));
    assert.equal(u.replaced, true);
    assert.deepEqual(xy(s, 'loss'), [
      [1, 1],
      [2, 2],
      [3, 30],
      [4, 40],
      [5, 50],
    ]);
  });

  it('keeps at most POINT_BUDGET points of a metric, every k-th line, with the latest value exact', () => {
    const s = new Series('long');
    const n = 5 * POINT_BUDGET + 3;
    let replaced = 0;
    for (let step = 1; step <= n; step += 100) {
      const lines = Array.from({ length: Math.min(100, n - step + 1) }, (_, i) =>
        rec(step + i, { step: step + i, v: step + i }),
      );
      if (s.add(lines).replaced) replaced++;
    }
    const pts = s.points.get('v')!;
    assert.ok(pts.length > POINT_BUDGET / 2 && pts.length <= POINT_BUDGET, `${pts.length} points`);
    assert.equal(replaced, 3, 'thinned at 1,000 lines, then 2,000 and 4,000');
    const xs = pts.map((p) => p.x);
    assert.deepEqual(xs.slice(0, 3), [1, 9, 17], 'every 8th line');
    assert.ok(xs.every((x, i) => i === 0 || x - xs[i - 1] === 8));
    assert.equal(s.latest('v'), n, 'the latest value, kept or not');
  });

  it('orders plain names first, then by namespace; formats values to 4 digits', () => {
    assert.deepEqual(orderMetrics(['train/lr', 'reward', 'objective/kl', 'loss', 'train/loss', 'x/m10', 'x/m2']), [
      'loss',
      'reward',
      'objective/kl',
      'train/loss',
      'train/lr',
      'x/m2',
      'x/m10',
    ]);
    assert.deepEqual([0, 1.23456, -0.5, 1234567, 0.0000123, undefined].map(formatValue), [
      '0',
      '1.235',
      '-0.5',
      '1.23e+6',
      '1.23e-5',
      '–',
    ]);
  });
});

describe('smoothing', () => {
  const pts = (run: string, ys: number[], from = 1) => ys.map((y, i) => ({ run, x: from + i, y }));

  it("is TensorBoard's debiased moving average, each run on its own, continued across calls", () => {
    const sm = new Smoother(0.5);
    const first = sm.smooth([...pts('a', [2, 4]), ...pts('b', [10])]);
    // a: the average 1 / (1 − 0.5) = 2, then 0.5·1 + 0.5·4 = 2.5, / (1 − 0.25) = 10/3; b starts at its own.
    assert.deepEqual(
      first.map((p) => [p.run, p.x, p.y, p.s]),
      [
        ['a', 1, 2, 2],
        ['a', 2, 4, 2.5 / 0.75],
        ['b', 1, 10, 10],
      ],
    );
    const [next] = sm.smooth(pts('a', [8], 3));
    // (0.5·2.5 + 0.5·8) / (1 − 0.125) = 5.25 / 0.875 = 6
    assert.ok(Math.abs(next.s - 6) < 1e-12, String(next.s));
    assert.equal(next.y, 8, 'the value itself is kept');
  });

  it('a constant stays constant, 0 leaves the values as they are, and a weight outside [0, 1) is refused', () => {
    assert.ok(new Smoother(0.9).smooth(pts('a', [3, 3, 3, 3])).every((p) => Math.abs(p.s - 3) < 1e-12));
    assert.deepEqual(
      new Smoother(0).smooth(pts('a', [1, 5, 2])).map((p) => p.s),
      [1, 5, 2],
    );
    assert.throws(() => new Smoother(1), /smoothing must be in \[0, 1\), got 1/);
  });
});
