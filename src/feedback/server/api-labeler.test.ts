// The labeler's API through inject: validation messages that name the field, size limits, malformed
// bodies, idempotent submissions, and what a labeler may not see.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { errorOf, fixture, pair } from './test-helpers.js';

describe('labeler API', () => {
  it('serves a task, takes a judgment, and a retried submission is stored once', async () => {
    const f = await fixture();
    const [t1] = await f.store.addTasks(f.project, [pair(1), pair(2)]);
    const next = await f.call('GET', `/api/projects/${f.project}/next`, f.tokens.ann);
    assert.equal(next.statusCode, 200);
    const task = next.json().task;
    assert.equal(task.taskId, t1);
    assert.equal(task.gold, undefined);
    const body = {
      taskId: task.taskId,
      submissionId: 'sub-1',
      shown: task.shown,
      choice: 2,
      axes: { accuracy: 6 },
      feedback: 'b is vague',
    };
    const first = await f.call('POST', `/api/projects/${f.project}/judgments`, f.tokens.ann, body);
    assert.equal(first.statusCode, 201);
    assert.equal(first.json().created, true);
    const again = await f.call('POST', `/api/projects/${f.project}/judgments`, f.tokens.ann, { ...body, choice: 9 });
    assert.equal(again.statusCode, 200, 'a retry is acknowledged');
    assert.equal(again.json().created, false);
    assert.deepEqual(again.json().judgment, first.json().judgment, 'with the first judgment');
    assert.equal((await f.store.listJudgments(f.project)).length, 1);
    const dup = await f.call('POST', `/api/projects/${f.project}/judgments`, f.tokens.ann, {
      ...body,
      submissionId: 'sub-2',
    });
    assert.equal(dup.statusCode, 409, 'a second judgment of the same task under a new id');
    assert.equal(errorOf(dup).code, 'conflict');
    assert.equal(errorOf(dup).reason, 'judged_already');
    const prog = (await f.call('GET', `/api/projects/${f.project}/progress`, f.tokens.ann)).json();
    assert.deepEqual({ done: prog.done, tasks: prog.tasks }, { done: 1, tasks: 2 });
    assert.equal(prog.labelers, undefined, 'a labeler sees only their own numbers');
    await f.store.close();
  });

  it('a labeler judges only the task they were given, in the order they were shown', async () => {
    const f = await fixture();
    const [t1, t2] = await f.store.addTasks(f.project, [pair(1), pair(2)]);
    const [g] = await f.store.addTasks(f.project, [{ ...pair(3), gold: [0, 1] }]);
    const url = `/api/projects/${f.project}/judgments`;
    for (const taskId of [t1, t2, g]) {
      const r = await f.call('POST', url, f.tokens.ann, {
        taskId,
        submissionId: `x${taskId}`,
        shown: [0, 1],
        choice: 1,
      });
      assert.equal(r.statusCode, 409, `task ${taskId} was never given to ann: ${r.body}`);
      assert.equal(errorOf(r).reason, 'not_assigned');
      assert.match(errorOf(r).message, /was never given to this labeler/);
    }
    const { task } = (await f.call('GET', `/api/projects/${f.project}/next`, f.tokens.ann)).json();
    assert.equal(task.taskId, t1);
    const flipped = [...task.shown].reverse();
    const r = await f.call('POST', url, f.tokens.ann, { taskId: t1, submissionId: 's', shown: flipped, choice: 1 });
    assert.equal(r.statusCode, 400);
    assert.equal(errorOf(r).field, 'shown');
    assert.match(errorOf(r).message, /was shown to this labeler as \[/);
    const out = await f.call('POST', url, f.tokens.ann, { taskId: t2, submissionId: 't', shown: [0, 1], choice: 1 });
    assert.equal(errorOf(out).reason, 'not_assigned', 'out of turn');
    assert.equal((await f.store.listJudgments(f.project)).length, 0);
    const ok = await f.call('POST', url, f.tokens.ann, { taskId: t1, submissionId: 's', shown: task.shown, choice: 1 });
    assert.equal(ok.statusCode, 201);
    assert.deepEqual(ok.json().judgment.shown, task.shown);
    await f.store.close();
  });

  it('bad bodies get 400 naming the field and saying how to fix it', async () => {
    const f = await fixture();
    const [t] = await f.store.addTasks(f.project, [pair(1)]);
    const [t3] = await f.store.addTasks(f.project, [{ prompt: 'p', completions: ['x', 'y', 'z'] }]);
    const ok = { taskId: t, submissionId: 's1', shown: [0, 1], choice: 3 };
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...ok, choice: 10 }, 'choice', /must be ≤ 9.*B much better/],
      [{ ...ok, choice: '3' }, 'choice', /must be an integer, got the string "3"/],
      [{ ...ok, labelerId: 2 }, 'labelerId', /unknown field; remove it \(allowed: taskId, submissionId/],
      [{ taskId: t, submissionId: 's1', choice: 3 }, 'shown', /missing \(the display order/],
      [{ ...ok, submissionId: 'has space' }, 'submissionId', /wrong form.*reused on retries/],
      [{ ...ok, axes: { accuracy: 0 } }, 'axes.accuracy', /must be ≥ 1/],
      [{ ...ok, axes: { style: 3 } }, 'axes.style', /unknown axis; this project rates accuracy/],
      [{ ...ok, shown: [0, 0] }, 'shown[1]', /appears twice/],
      [{ ...ok, choice: undefined, ranking: [0, 1] }, 'ranking', /a pair takes "choice"/],
      [{ taskId: t3, submissionId: 's3', shown: [0, 1, 2], choice: 2 }, 'choice', /give "ranking"/],
      [{ ...ok, status: 'maybe' }, 'status', /must be one of "done", "skipped", "flagged"/],
      [{ ...ok, feedback: 'x'.repeat(10001) }, 'feedback', /at most 10000 characters/],
    ];
    for (const [body, field, msg] of cases) {
      const r = await f.call('POST', `/api/projects/${f.project}/judgments`, f.tokens.ann, body);
      assert.equal(r.statusCode, 400, `${field}: ${r.body}`);
      const e = errorOf(r);
      assert.equal(e.code, 'bad_request');
      assert.equal(e.field, field, r.body);
      assert.ok(e.message.startsWith(`field "${field}": `), e.message);
      assert.match(e.message, msg);
    }
    assert.equal((await f.store.listJudgments(f.project)).length, 0);
    await f.store.close();
  });

  it('malformed, empty, non-JSON and oversized bodies: 4xx with a message', async () => {
    const f = await fixture();
    const url = `/api/projects/${f.project}/judgments`;
    const json = { 'content-type': 'application/json' };
    const bad = await f.call('POST', url, f.tokens.ann, '{"taskId": 1,', json);
    assert.equal(bad.statusCode, 400);
    assert.equal(errorOf(bad).code, 'invalid_json');
    assert.match(errorOf(bad).message, /not valid JSON/);
    const proto = await f.call('POST', url, f.tokens.ann, '{"__proto__": {"x": 1}}', json);
    assert.equal(proto.statusCode, 400);
    const empty = await f.call('POST', url, f.tokens.ann, '', json);
    assert.equal(empty.statusCode, 400);
    assert.match(errorOf(empty).message, /empty/);
    const text = await f.call('POST', url, f.tokens.ann, 'choice=3', { 'content-type': 'text/plain' });
    assert.equal(text.statusCode, 415);
    assert.match(errorOf(text).message, /application\/json/);
    const array = await f.call('POST', url, f.tokens.ann, '[1, 2]', json);
    assert.equal(array.statusCode, 400);
    assert.match(errorOf(array).message, /must be an object/);
    const big = await f.call('POST', url, f.tokens.ann, {
      taskId: 1,
      submissionId: 'x',
      shown: [0, 1],
      feedback: 'x'.repeat(70_000),
    });
    assert.equal(big.statusCode, 413);
    assert.equal(errorOf(big).code, 'payload_too_large');
    assert.match(errorOf(big).message, /limit of 64 KB/);
    await f.store.close();
  });

  it(
    "a labeler sees only their projects, cannot read or judge another project's tasks, nor call admin " + 'routes',
    async () => {
      const f = await fixture();
      const [secret] = await f.store.addTasks(f.other, [{ prompt: 'secret prompt', completions: ['x', 'y'] }]);
      await f.store.addTasks(f.project, [pair(1)]);
      const list = (await f.call('GET', '/api/projects', f.tokens.ann)).json().projects;
      assert.deepEqual(
        list.map((p: { name: string }) => p.name),
        ['summaries'],
      );
      for (const path of ['', '/next', '/progress', '/stats', '/export']) {
        const r = await f.call('GET', `/api/projects/${f.other}${path}`, f.tokens.ann);
        assert.equal(r.statusCode, 403, path);
        assert.ok(!r.body.includes('secret prompt'));
      }
      const cross = await f.call('POST', `/api/projects/${f.other}/judgments`, f.tokens.ann, {
        taskId: secret,
        submissionId: 'a',
        shown: [0, 1],
        choice: 1,
      });
      assert.equal(cross.statusCode, 403);
      // Through their own project's route, with the other project's task id: not found, nothing stored.
      const smuggled = await f.call('POST', `/api/projects/${f.project}/judgments`, f.tokens.ann, {
        taskId: secret,
        submissionId: 'b',
        shown: [0, 1],
        choice: 1,
      });
      assert.equal(smuggled.statusCode, 404);
      assert.equal(errorOf(smuggled).field, 'taskId');
      assert.equal((await f.store.listJudgments(f.other)).length, 0);
      for (const [m, u, b] of [
        ['POST', '/api/projects', { name: 'mine' }],
        ['GET', '/api/users'],
        ['POST', '/api/users', { name: 'x' }],
        ['POST', `/api/projects/${f.project}/tasks/import`, { jsonl: JSON.stringify(pair(5)) }],
        ['GET', `/api/projects/${f.project}/export`],
        ['POST', `/api/users/${f.ids.bob}/disable`, {}],
        ['POST', `/api/projects/${f.project}/members`, { userId: f.ids.outsider }],
      ] as const) {
        const r = await f.call(m, u, f.tokens.ann, b);
        assert.equal(r.statusCode, 403, `${m} ${u}`);
        assert.match(errorOf(r).message, /admins only/);
      }
      assert.equal((await f.store.listProjects()).length, 2);
      await f.store.close();
    },
  );

  it('every response carries the security headers; the pages have no inline script or style', async () => {
    const f = await fixture();
    for (const url of [
      '/',
      '/admin',
      '/api/health',
      '/api/me',
      '/static/style.css',
      '/js/feedback/web/labeler.js',
      '/nowhere',
    ]) {
      const r = await f.call('GET', url, f.tokens.ann);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'/, url);
      assert.match(csp, /frame-ancestors 'none'/, url);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, url);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(r.headers['x-frame-options'], 'DENY', url);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', url);
    }
    assert.equal((await f.call('GET', '/api/me', f.tokens.ann)).headers['cache-control'], 'no-store');
    for (const page of ['/', '/admin']) {
      const html = (await f.call('GET', page)).body;
      assert.match(html, /<script type="module" src="\/js\/feedback\/web\/\w+\.js"><\/script>/);
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
      assert.doesNotMatch(html, /\son\w+\s*=|\sstyle\s*=|<style/i, 'no event-handler attributes or inline styles');
    }
    assert.equal((await f.call('GET', '/js/feedback/server/app.js')).statusCode, 404, 'server code is not served');
    assert.equal((await f.call('GET', '/js/../package.json')).statusCode, 404);
    assert.equal((await f.call('GET', '/static/index.html')).statusCode, 404);
    await f.store.close();
  });

  it(
    'requests refused by the HTTP parser (431 headers too large, 400 not HTTP) have the security headers and the ' +
      'error shape',
    async () => {
      const f = await fixture();
      await f.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (f.app.server.address() as { port: number }).port;
      const raw = (text: string) =>
        new Promise<string>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => s.write(text));
          let got = '';
          s.on('data', (d) => (got += d));
          s.on('close', () => resolve(got));
          s.on('error', reject);
        });
      for (const [request, status, code] of [
        [`GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
        ['NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request'],
      ] as const) {
        const res = await raw(request);
        const [head, body] = res.split('\r\n\r\n');
        assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `), head);
        for (const h of [
          "content-security-policy: default-src 'none'",
          'x-content-type-options: nosniff',
          'x-frame-options: deny',
          'referrer-policy: no-referrer',
        ])
          assert.ok(head.toLowerCase().includes(h), `${status} has ${h}: ${head}`);
        const e = JSON.parse(body).error;
        assert.equal(e.code, code);
        assert.equal(typeof e.message, 'string');
      }
      await f.app.close();
      await f.store.close();
    },
  );
});
