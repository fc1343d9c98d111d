// The board's server through fastify's inject: the runs it finds and how it tells their status, reading a
// metrics file as it grows, configurations and their differences, samples by step, and that no request
// reaches a file outside the directories given.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildBoardServer } from './server.js';

const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');

function write(path: string, text: string, ageSeconds = 0): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (ageSeconds) {
    const t = new Date(Date.now() - ageSeconds * 1000);
    utimesSync(path, t, t);
  }
}

describe('rlhf board: the server', () => {
  let root: string, outside: string, app: FastifyInstance;
  const get = async (url: string) => {
    const r = await app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:6060' } });
    return { status: r.statusCode, body: r.json(), headers: r.headers };
  };

  before(() => {
    const top = mkdtempSync(join(tmpdir(), 'rlhf-board-'));
    root = join(top, 'runs');
    outside = join(top, 'secret');
    // A finished GRPO run: its options, its checkpoint's config, metrics, samples, and summary.json last.
    const a = join(root, 'grpo', 'a');
    write(
      join(a, 'train_config.json'),
      JSON.stringify({
        trainer: 'grpo',
        argv: ['train', 'grpo'],
        options: { steps: 2, lr: 1e-5, beta: 0, stop: [] },
        inputs: { init: 'sft', out: a },
        started_at: '2025-01-01T00:00:00Z',
      }),
      60,
    );
    write(
      join(a, 'config.json'),
      JSON.stringify({ n_embd: 32, rlhf: { kind: 'policy', trainer: 'grpo', beta: 0 } }),
      30,
    );
    write(
      join(a, 'metrics.jsonl'),
      jsonl([
        { step: 1, loss: 0.5 },
        { step: 2, loss: 0.25 },
      ]),
      30,
    );
    write(
      join(a, 'samples.jsonl'),
      jsonl([
        { step: 1, prompt: 'p', completion: 'x', reward: 1, rewards: { f: 1 } },
        { step: 1, prompt: 'p', completion: 'y', reward: 3, rewards: { f: 3 } },
        { step: 2, prompt: 'q', completion: 'z', reward: 0, rewards: { f: 0 } },
      ]),
      30,
    );
    write(join(a, 'summary.json'), '{}', 20);
    // The same with another β and learning rate, and a second reward.
    const b = join(root, 'grpo', 'b');
    write(
      join(b, 'train_config.json'),
      JSON.stringify({
        trainer: 'grpo',
        argv: ['train', 'grpo', '--beta', '0.1'],
        options: { steps: 2, lr: 3e-5, beta: 0.1, stop: ['\n'] },
        inputs: { init: 'sft', out: b },
        started_at: '2025-01-02T00:00:00Z',
      }),
      60,
    );
    write(
      join(b, 'config.json'),
      JSON.stringify({ n_embd: 32, rlhf: { kind: 'policy', trainer: 'grpo', beta: 0.1 } }),
      30,
    );
    write(join(b, 'metrics.jsonl'), jsonl([{ step: 1, loss: 0.4 }]), 30);
    // A run being written now (no summary.json), one that stopped long ago, and a reward model (metrics.json last).
    write(join(root, 'live', 'metrics.jsonl'), jsonl([{ iteration: 1, 'objective/kl': 0 }]));
    write(join(root, 'old', 'metrics.jsonl'), jsonl([{ step: 7, loss: 1 }]), 3600);
    write(join(root, 'rm', 'metrics.jsonl'), jsonl([{ step: 1, loss: 0.7 }]), 30);
    write(join(root, 'rm', 'config.json'), JSON.stringify({ rlhf: { trainer: 'reward' } }), 20);
    write(join(root, 'rm', 'metrics.json'), '{}', 20);
    // ReST: its lines count each Improve step's fine-tuning; its progress is the Grow.
    write(join(root, 'rest', 'train_config.json'), JSON.stringify({ trainer: 'rest', options: { grows: 3 } }), 30);
    write(
      join(root, 'rest', 'metrics.jsonl'),
      jsonl([{ 'rest/grow': 2, 'rest/improve': 1, step: 5, 'train/loss': 1 }]),
      30,
    );
    write(join(root, 'rest', 'summary.json'), '{}', 20);
    // Too deep, hidden, and outside (reached by a symbolic link): none are runs of this board.
    write(join(root, 'd1', 'd2', 'd3', 'd4', 'd5', 'metrics.jsonl'), jsonl([{ step: 1, x: 1 }]));
    write(join(root, '.hidden', 'metrics.jsonl'), jsonl([{ step: 1, x: 1 }]));
    write(join(outside, 'metrics.jsonl'), jsonl([{ step: 1, password: 1 }]));
    write(join(outside, 'notes.txt'), 'TOP-SECRET-CONTENT');
    symlinkSync(outside, join(root, 'link'));
    app = buildBoardServer({ roots: [root], staleMs: 600_000, allowedHosts: ['127.0.0.1', 'localhost'] });
  });
  after(() => app?.close());

  it('lists every directory with metrics.jsonl, to the depth asked, with its trainer, status and step', async () => {
    const r = await get('/api/runs');
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.runs.map((x: { id: string }) => x.id),
      ['grpo/a', 'grpo/b', 'live', 'old', 'rest', 'rm'],
    );
    const by = Object.fromEntries(r.body.runs.map((x: { id: string }) => [x.id, x]));
    assert.deepEqual(
      ['grpo/a', 'grpo/b', 'live', 'old', 'rest', 'rm'].map((id) => by[id].status),
      ['finished', 'running', 'running', 'stopped', 'finished', 'finished'],
    );
    assert.deepEqual(
      [by['grpo/a'].trainer, by['grpo/a'].kind, by['grpo/a'].lastStep, by['grpo/a'].totalSteps],
      ['grpo', 'policy', 2, 2],
    );
    assert.deepEqual(by['grpo/a'].files, ['metrics.jsonl', 'samples.jsonl']);
    assert.deepEqual([by['grpo/a'].unit, by.live.unit, by.live.lastStep], ['step', 'iteration', 1], "PPO's iteration");
    assert.deepEqual([by.rest.unit, by.rest.lastStep, by.rest.totalSteps], ['grow', 2, 3]);
    assert.deepEqual([by.rm.trainer, by.old.trainer], ['reward', null]);
    assert.equal(r.body.poll_ms, 2000);
    const csp = r.headers['content-security-policy'] as string;
    assert.match(csp, /default-src 'none'.*script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline/);
    // A run that starts later shows up.
    write(join(root, 'new-run', 'metrics.jsonl'), jsonl([{ step: 1, loss: 3 }]));
    const again = await get('/api/runs');
    assert.ok(again.body.runs.some((x: { id: string }) => x.id === 'new-run'));
  });

  it('reads a metrics file from an offset: new lines, the half-written one later, bad lines named', async () => {
    const path = join(root, 'live', 'metrics.jsonl');
    const first = await get('/api/series?run=live&file=metrics.jsonl');
    assert.deepEqual(
      first.body.records.map((r: { value: object }) => r.value),
      [{ iteration: 1, 'objective/kl': 0 }],
    );
    appendFileSync(path, '{"iteration": 2, "objective/kl": 0.1}\n{"iteration": 3, oops}\n{"iteration": 4, "obj');
    const q = (c: { offset: number; line: number; head: string }) =>
      `/api/series?run=live&file=metrics.jsonl&offset=${c.offset}&line=${c.line}&head=${c.head}`;
    const second = await get(q(first.body));
    assert.deepEqual(
      second.body.records.map((r: { line: number }) => r.line),
      [2],
    );
    assert.deepEqual(
      second.body.problems.map((p: { line: number }) => p.line),
      [3],
    );
    assert.match(second.body.problems[0].message, /^not JSON/);
    appendFileSync(path, 'ective/kl": 0.3}\n');
    const third = await get(q(second.body));
    assert.deepEqual(third.body.records, [{ line: 4, value: { iteration: 4, 'objective/kl': 0.3 } }]);
    assert.equal(third.body.reset, false);
    // Another helper's monitor.jsonl ({step, …numbers}) is listed and read the same way.
    write(join(root, 'live', 'monitor.jsonl'), jsonl([{ step: 1, 'monitor/gold': 0.5 }]));
    assert.ok(
      (await get('/api/runs')).body.runs.find((x: { id: string }) => x.id === 'live').files.includes('monitor.jsonl'),
    );
    const monitor = await get('/api/series?run=live&file=monitor.jsonl');
    assert.deepEqual(monitor.body.records, [{ line: 1, value: { step: 1, 'monitor/gold': 0.5 } }]);
    const missing = await get('/api/series?run=grpo/a&file=monitor.jsonl');
    assert.deepEqual([missing.status, missing.body.records], [200, []], 'a file the run does not have reads as empty');
    assert.equal((await get('/api/series?run=live&file=metrics.jsonl&offset=-1')).status, 400);
  });

  it("shows a run's configuration, and the fields where two runs differ", async () => {
    const c = await get('/api/config?run=grpo/a');
    assert.equal(c.status, 200);
    assert.equal(c.body.trainer, 'grpo');
    assert.equal(c.body.flat['train.options.lr'], 1e-5);
    assert.equal(c.body.flat['model.rlhf.beta'], 0);
    assert.equal(c.body.flat['train.options.stop'], '[]');
    const d = await get('/api/diff?a=grpo/a&b=grpo/b');
    assert.deepEqual(d.body.differ, [
      { key: 'model.rlhf.beta', a: 0, b: 0.1 },
      { key: 'train.options.beta', a: 0, b: 0.1 },
      { key: 'train.options.lr', a: 1e-5, b: 3e-5 },
      { key: 'train.options.stop', a: '[]', b: '["\\n"]' },
    ]);
    assert.ok(d.body.same >= 5, 'init, steps, trainer, n_embd, kind are the same');
    // A run without configuration files differs in every field the other has.
    const none = await get('/api/diff?a=grpo/a&b=old');
    assert.ok(none.body.differ.every((x: object) => !('b' in x)));
  });

  it("lists a run's samples by step, with their mean reward, and reads one step's", async () => {
    const s = await get('/api/samples?run=grpo/a');
    assert.deepEqual(s.body, {
      step_field: 'step',
      steps: [
        { step: 1, count: 2, meanReward: 2 },
        { step: 2, count: 1, meanReward: 0 },
      ],
      problems: [],
    });
    const one = await get('/api/samples/step?run=grpo/a&step=1');
    assert.deepEqual(
      one.body.records.map((r: { value: { completion: string } }) => r.value.completion),
      ['x', 'y'],
    );
    assert.equal(one.body.total, 2);
    appendFileSync(
      join(root, 'grpo', 'a', 'samples.jsonl'),
      '{"step": 3, "prompt": "r", "completion": "w"}\nnot json\n',
    );
    const grown = await get('/api/samples?run=grpo/a');
    assert.deepEqual(
      grown.body.steps.map((x: { step: number; meanReward: number | null }) => [x.step, x.meanReward]),
      [
        [1, 2],
        [2, 0],
        [3, null],
      ],
    );
    assert.equal(grown.body.problems[0].line, 5);
  });

  it('serves only runs it found and files it knows: no path reaches outside the directories given', async () => {
    for (const url of [
      '/api/series?run=../secret&file=metrics.jsonl',
      '/api/series?run=link&file=metrics.jsonl',
      `/api/series?run=${encodeURIComponent(outside)}&file=metrics.jsonl`,
      '/api/config?run=..',
      '/api/samples?run=d1/d2/d3/d4/d5',
      '/api/diff?a=grpo/a&b=../secret',
    ])
      assert.equal((await get(url)).status, 404, url);
    for (const file of ['../../secret/notes.txt', 'train_config.json', '/etc/passwd', 'samples.jsonl'])
      assert.equal((await get(`/api/series?run=grpo/a&file=${encodeURIComponent(file)}`)).status, 400, file);
    for (const url of [
      '/static/..%2F..%2Fpackage.json',
      '/static/board.html',
      '/js/..%2F..%2Fpackage.json',
      '/js/board/server.js',
      '/vendor/..%2Fvega-lite%2Fpackage.json',
      '/api/runs/../../secret/notes.txt',
    ]) {
      const r = await app.inject({ method: 'GET', url, headers: { host: 'localhost' } });
      assert.equal(r.statusCode, 404, url);
      assert.doesNotMatch(r.body, /TOP-SECRET|"password"|"name": "vega/);
    }
    const page = await app.inject({ method: 'GET', url: '/', headers: { host: 'localhost:6060' } });
    assert.match(page.body, /<script src="\/vendor\/vega\.min\.js"><\/script>/);
    assert.match(page.body, /<script src="\/vendor\/vega-interpreter\.js"><\/script>/);
    for (const file of ['vega.min.js', 'vega-lite.min.js', 'vega-interpreter.js']) {
      const r = await app.inject({ method: 'GET', url: `/vendor/${file}`, headers: { host: 'localhost' } });
      assert.equal(r.statusCode, 200, file);
      assert.match(r.headers['content-type'] as string, /^text\/javascript/, file);
    }
    // Another host name (a DNS-rebinding page) is refused.
    const rebound = await app.inject({ method: 'GET', url: '/api/runs', headers: { host: 'evil.example:6060' } });
    assert.equal(rebound.statusCode, 403);
  });
});
