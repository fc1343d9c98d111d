// The over-optimization monitor through the built CLI (bin/rlhf.js): `train reward --split-holdout` and
// `--ensemble` make its reward models, `train ppo` watches every signal (a judge served by a fake chat server
// in this process), best/ loads as a checkpoint, `sample --best-of` sweeps N, and a user's first mistakes.

import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadCheckpoint } from '../model/checkpoint.js';
import { RewardModel } from '../model/reward-model.js';
import { letterPolicy } from '../train/test-fixtures.js';
import { runRLHF } from '../test-support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-monitor-cli-'));
const base = letterPolicy();
const at = (name: string) => join(root, name);
RewardModel.fromTrunk(loadCheckpoint(base.dir).model, base.tok, 32, 8).save(at('rm'));
const jsonl = (path: string, rows: unknown[]) =>
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
jsonl(
  at('prompts.jsonl'),
  [' a', ' b', ' c'].map((prompt) => ({ prompt })),
);
jsonl(
  at('held-out.jsonl'),
  [' d', ' e', ' c b'].map((prompt) => ({ prompt })),
);
// Comparisons of letters: more "a" wins (what the labelers "prefer" here).
const comparisons = Array.from({ length: 60 }, (_, i) => {
  const a = ` ${'a '.repeat(1 + (i % 3))}b`,
    b = ` ${'b '.repeat(1 + (i % 2))}c`;
  return { prompt: ` p${i}`, completions: i % 2 ? [a, b] : [b, a], ranking: i % 2 ? [0, 1] : [1, 0] };
});
jsonl(at('labels.jsonl'), comparisons);
writeFileSync(
  at('count-a.mjs'),
  'export default ({ completions }) => completions.map((c) => (c.match(/a/g) ?? []).length);\n',
);

const rlhf = (...args: string[]) => runRLHF(args, { RLHF_THREADS: '1' });

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** A chat server that always prefers completion A (the judge's position bias, cancelled by asking both ways). */
function fakeJudge(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/models') res.end(JSON.stringify({ data: [{ id: 'judge' }] }));
      else res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'A' } }] }));
    });
  });
}

describe('the over-optimization monitor from the command line', () => {
  const judge = fakeJudge();
  let judgeUrl = '';
  before(async () => {
    await new Promise<void>((r) => judge.listen(0, '127.0.0.1', r));
    judgeUrl = `http://127.0.0.1:${(judge.address() as AddressInfo).port}/v1`;
  });
  after(() => judge.close());

  const tinyReward = ['--preset', 'tiny', '--vocab-size', '300', '--context', '24', '--steps', '3', '--quiet'];

  it('train reward --split-holdout writes two models on disjoint comparisons', async () => {
    const r = await rlhf(
      'train',
      'reward',
      '--train',
      at('labels.jsonl'),
      '--out',
      at('rm2'),
      '--split-holdout',
      '0.5',
      ...tinyReward,
    );
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /holdout model .* in .*rm2\/holdout/);
    const proxy = JSON.parse(readFileSync(join(at('rm2'), 'metrics.json'), 'utf8')),
      holdout = JSON.parse(readFileSync(join(at('rm2'), 'holdout', 'metrics.json'), 'utf8'));
    assert.equal(proxy.evalComparisons, holdout.evalComparisons, 'the same eval set');
    assert.ok(proxy.trainComparisons > 0 && holdout.trainComparisons > 0);
    assert.ok(proxy.trainComparisons + holdout.trainComparisons + proxy.evalComparisons === comparisons.length);
    const e = await rlhf('train', 'reward', '--train', at('labels.jsonl'), '--out', at('rm3'), '--split-holdout', '1');
    assert.notEqual(e.status, 0);
    assert.match(e.err, /--split-holdout.*must be in \(0, 1\), got 1/);
  });

  it('train ppo with every signal: monitor.jsonl, metrics.jsonl, the summary line, and best/ loads', async () => {
    const ens = await rlhf(
      'train',
      'reward',
      '--train',
      at('labels.jsonl'),
      '--out',
      at('ens'),
      '--ensemble',
      '2',
      ...tinyReward,
    );
    assert.equal(ens.status, 0, ens.err);
    const out = at('ppo');
    const r = await rlhf(
      ...['train', 'ppo', '--init', base.dir, '--prompts', at('prompts.jsonl'), '--reward', at('rm'), '--out', out],
      ...[
        '--iterations',
        '2',
        '--rollout-batch',
        '4',
        '--minibatch',
        '2',
        '--ppo-epochs',
        '1',
        '--max-new-tokens',
        '4',
      ],
      ...['--quiet', '--monitor-prompts', at('held-out.jsonl'), '--monitor-every', '1'],
      ...['--monitor-holdout-reward', join(at('rm2'), 'holdout'), '--monitor-pairs', at('labels.jsonl')],
      ...['--monitor-ensemble', at('ens'), '--judge', judgeUrl, '--monitor-reward', at('count-a.mjs')],
      ...['--monitor-limit', '10'],
    );
    assert.equal(r.status, 0, r.err);
    assert.match(r.out, /^monitor: best\/ holds iteration \d, where pref_accuracy was best .*; 3 evaluations in/m);
    assert.match(
      r.err,
      new RegExp(
        'ppo: monitor: 3 held-out prompts every 1 iterations; signals holdout_reward, pref_accuracy, ' +
          'judge_win_rate, ensemble_std, reward/count-a',
      ),
    );
    const m = lines(join(out, 'monitor.jsonl'));
    assert.deepEqual(
      m.map((x) => x.step),
      [0, 1, 2],
    );
    for (const k of ['proxy', 'kl', 'length', 'stop_rate', 'holdout_reward', 'pref_accuracy', 'judge_win_rate'])
      assert.ok(
        m.every((x) => Number.isFinite(x[`monitor/${k}`])),
        k,
      );
    for (const k of ['judge_invalid', 'ensemble_std', 'ensemble_mean', 'reward/count-a'])
      assert.ok(
        m.every((x) => Number.isFinite(x[`monitor/${k}`])),
        k,
      );
    // A judge that always says "A", asked both ways, gives every pair one win and one loss (identical ones tie).
    assert.ok(m.every((x) => x['monitor/judge_win_rate'] === 0.5));
    assert.equal(m[0]['monitor/kl'], 0);
    const metrics = lines(join(out, 'metrics.jsonl'));
    assert.deepEqual(
      metrics.filter((x) => 'monitor/proxy' in x).map((x) => x.iteration),
      [0, 1, 2],
    );
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.monitor.signal, 'pref_accuracy', 'held-out labels decide before a second reward model');
    const s = await rlhf('sample', '--model', join(out, 'best'), '--prompt', ' a', '--max-new-tokens', '3', '--json');
    assert.equal(s.status, 0, s.err);
    assert.equal(JSON.parse(readFileSync(join(out, 'best', 'monitor.json'), 'utf8')).step, summary.monitor.bestStep);
  });

  it('sample --best-of N with a monitor sweeps N on the held-out prompts and samples with its choice', async () => {
    const out = at('bon.jsonl');
    const r = await rlhf(
      ...['sample', '--model', base.dir, '--prompts', at('prompts.jsonl'), '--best-of', '4', '--reward', at('rm')],
      ...['--max-new-tokens', '4', '--monitor-prompts', at('held-out.jsonl'), '--monitor-reward', at('count-a.mjs')],
      ...['--out', out],
    );
    assert.equal(r.status, 0, r.err);
    const sweep = lines(`${out}.monitor.jsonl`);
    assert.deepEqual(
      sweep.map((x) => x.n),
      [1, 2, 4],
    );
    const chosen = Number(/reward\/count-a is best at N = (\d+)/.exec(r.err)?.[1]);
    assert.ok([1, 2, 4].includes(chosen), r.err);
    assert.ok(lines(out).every((x) => x.best_of === chosen));
  });

  it("names the flag and the fix for a user's first mistakes", async () => {
    const common = ['train', 'ppo', '--init', base.dir, '--prompts', at('prompts.jsonl'), '--reward', at('rm')];
    let r = await rlhf(...common, '--out', at('x'), '--monitor-pairs', at('labels.jsonl'));
    assert.notEqual(r.status, 0);
    assert.match(r.err, /monitorPairs \(--monitor-pairs\) needs monitorPrompts \(--monitor-prompts FILE\)/);
    r = await rlhf(
      ...common,
      '--out',
      at('x'),
      '--monitor-prompts',
      at('held-out.jsonl'),
      '--monitor-signal',
      'judge_win_rate',
    );
    assert.notEqual(r.status, 0);
    assert.match(r.err, /--monitor-signal\) is "judge_win_rate", which this run does not measure/);
    r = await rlhf('sample', '--model', base.dir, '--prompt', ' a', '--monitor-prompts', at('held-out.jsonl'));
    assert.notEqual(r.status, 0);
    assert.match(r.err, /--monitor-prompts goes with --best-of N/);
    assert.ok(!existsSync(at('x')) || !existsSync(join(at('x'), 'best')));
  });
});
