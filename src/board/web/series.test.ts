import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Series, formatValue, orderMetrics } from './series.js';

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

  it('orders plain names first, then by namespace; formats values to 4 digits', () => {
    assert.deepEqual(orderMetrics(['train/lr', 'reward', 'objective/kl', 'loss', 'train/loss']), [
      'loss',
      'reward',
      'objective/kl',
      'train/loss',
      'train/lr',
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
