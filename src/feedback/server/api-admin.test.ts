// The admin API through inject: projects, users and links, imports (line-numbered errors, all or
// nothing), generation, statistics, disabling, and exports that read back through src/data.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readComparisons } from '../../data/read-comparisons.js';
import { request } from 'node:http';
import { publicUrlBase } from './routes-admin.js';
import { errorOf, fixture, pair, type Fixture } from './test-helpers.js';

/**
 * Ann and Bob judge every task of the project: both prefer completion 0, ann by `annChoice`, bob by 1 (much better).
 */
async function labelAll(f: Fixture, annChoice = 2): Promise<void> {
  for (const [who, choice] of [
    ['ann', annChoice],
    ['bob', 1],
  ] as const) {
    for (let i = 0; ; i++) {
      const { task } = (await f.call('GET', `/api/projects/${f.project}/next`, f.tokens[who])).json();
      if (!task) break;
      // Each one judges the same completion better, whatever order it was shown in.
      const c = task.shown[0] === 0 ? choice : 10 - choice;
      const r = await f.call('POST', `/api/projects/${f.project}/judgments`, f.tokens[who], {
        taskId: task.taskId,
        submissionId: `${who}-${i}`,
        shown: task.shown,
        choice: c,
        feedback: `${who} says ${i}`,
      });
      assert.equal(r.statusCode, 201, r.body);
    }
  }
}

describe('admin API', () => {
  it("creates projects and users; a new user's link signs in; bad input names the field", async () => {
    const f = await fixture();
    const p = await f.call('POST', '/api/projects', f.tokens.admin, {
      name: 'tldr',
      settings: { overlap: 3, goldEvery: 5, axes: ['coverage'] },
    });
    assert.equal(p.statusCode, 201);
    assert.deepEqual(p.json().project.settings, { overlap: 3, scale: 9, axes: ['coverage'], goldEvery: 5 });
    assert.equal((await f.call('POST', '/api/projects', f.tokens.admin, { name: 'tldr' })).statusCode, 409);
    const bad = await f.call('POST', '/api/projects', f.tokens.admin, {
      name: 'x',
      settings: { overlap: 2, gold_every: 5 },
    });
    assert.equal(errorOf(bad).field, 'settings.gold_every');
    assert.match(errorOf(bad).message, /unknown field; remove it \(allowed: overlap, goldEvery, axes, scale\)/);
    assert.equal(
      errorOf(await f.call('POST', '/api/projects', f.tokens.admin, { name: 'x', settings: { scale: 7 } })).field,
      'settings.scale',
    );

    const u = await f.call(
      'POST',
      '/api/users',
      f.tokens.admin,
      { name: 'cy', projects: [p.json().project.id] },
      { host: 'evil.example' },
    );
    assert.equal(u.statusCode, 201);
    const { token, link, user } = u.json();
    assert.equal(link, `http://localhost/#token=${token}`, 'never from the Host header');
    assert.equal(user.role, 'labeler');
    assert.deepEqual(
      (await f.call('GET', '/api/projects', token)).json().projects.map((x: { name: string }) => x.name),
      ['tldr'],
    );
    const admin2 = (await f.call('POST', '/api/users', f.tokens.admin, { name: 'boss', role: 'admin' })).json();
    assert.match(admin2.link, /\/admin#token=/);
    const missing = await f.call('POST', '/api/users', f.tokens.admin, { name: 'dee', projects: [99] });
    assert.equal(missing.statusCode, 404);
    assert.equal(errorOf(missing).field, 'projects[0]');
    assert.ok(!(await f.store.listUsers()).some((x) => x.name === 'dee'), 'a bad project id leaves no user behind');
    assert.equal(
      errorOf(await f.call('POST', '/api/users', f.tokens.admin, { name: 'z', role: 'root' })).field,
      'role',
    );
    const users = (await f.call('GET', '/api/users', f.tokens.admin)).json().users;
    assert.deepEqual(users.find((x: { name: string }) => x.name === 'ann').projects, [f.project]);
    assert.ok(!JSON.stringify(users).includes(token), 'tokens are never listed');
    const add = await f.call('POST', `/api/projects/${f.project}/members`, f.tokens.admin, { userId: f.ids.outsider });
    assert.equal(add.statusCode, 200);
    assert.equal((await f.call('GET', `/api/projects/${f.project}/next`, f.tokens.outsider)).statusCode, 200);
    await f.store.close();
  });

  it('sign-in links come from --public-url or the address the server answered on, never the Host header', async () => {
    const f = await fixture();
    await f.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (f.app.server.address() as { port: number }).port;
    // A raw request, since fetch will not send a Host of our choosing.
    const post = (host: string, name: string) =>
      new Promise<{ link: string }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/api/users',
            headers: { host, authorization: `Bearer ${f.tokens.admin}`, 'content-type': 'application/json' },
          },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve(JSON.parse(body)));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ name }));
      });
    const { link } = await post('evil.example"><b>x</b>', 'dee');
    assert.match(link, new RegExp(`^http://127\\.0\\.0\\.1:${port}/#token=[\\w-]+$`));
    await f.app.close();
    await f.store.close();
    const g = await fixture({ publicUrl: 'https://label.example.org/team/<b>/' });
    const r = await g.call('POST', '/api/users', g.tokens.admin, { name: 'eli' }, { host: 'evil.example' });
    assert.equal(r.json().link, `https://label.example.org/team/%3Cb%3E/#token=${r.json().token}`);
    await g.store.close();
    for (const bad of ['label.example.org', 'javascript:alert(1)', 'https://u:p@x.org', 'https://x.org/?a=1'])
      assert.throws(() => publicUrlBase(bad, '--public-url'), /--public-url|must be/);
  });

  it('imports tasks and sample output; a bad line imports nothing and is named by number', async () => {
    const f = await fixture();
    const url = `/api/projects/${f.project}/tasks/import`;
    const tasks = [
      JSON.stringify(pair(1)),
      JSON.stringify({ ...pair(2), gold: [1, 0] }),
      '',
      JSON.stringify({ prompt: 'k', completions: ['x', 'y', 'z'] }),
    ].join('\n');
    const r = await f.call('POST', url, f.tokens.admin, { jsonl: tasks });
    assert.equal(r.statusCode, 201, r.body);
    assert.deepEqual(
      { imported: r.json().imported, format: r.json().format, lines: r.json().lines },
      { imported: 3, format: 'tasks', lines: 3 },
    );
    assert.match(
      r.json().notes.join('; '),
      /1 gold task: this project mixes in no gold \(goldEvery 0\), so each labeler gets it only after every other task/,
    );
    const bad = await f.call('POST', url, f.tokens.admin, {
      jsonl: [
        JSON.stringify(pair(3)),
        '{"prompt": "p", "completions": ["a"]}',
        'not json',
        JSON.stringify({ ...pair(4), gold: [0, 5] }),
      ].join('\n'),
    });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(
      errorOf(bad).issues!.map((i) => [i.line, i.field]),
      [
        [2, 'completions'],
        [3, undefined],
        [4, 'gold[1]'],
      ],
    );
    assert.match(
      errorOf(bad).message,
      /^3 bad lines, nothing imported: line 2: field "completions": needs 2–16 completions, got 1/,
    );
    assert.equal((await f.store.projectStats(f.project)).tasks, 3, 'nothing of the bad file was imported');
    // `rlhf sample --json` output: samples of one prompt become pairs; a lone or duplicate sample is said.
    const sample = [
      { prompt: 'A', completion: ' one', sample: 0, finish_reason: 'stop' },
      { prompt: 'A', completion: ' two', sample: 1, finish_reason: 'length' },
      { prompt: 'A', completion: ' one', sample: 2, finish_reason: 'stop' },
      { prompt: 'A', completion: ' three', sample: 3, finish_reason: 'stop' },
      { prompt: 'B', completion: ' x', sample: 0, finish_reason: 'stop' },
      { prompt: 'B', completion: ' y', sample: 1, finish_reason: 'stop' },
    ]
      .map((x) => JSON.stringify(x))
      .join('\n');
    const s = await f.call('POST', url, f.tokens.admin, { jsonl: sample });
    assert.equal(s.statusCode, 201, s.body);
    assert.equal(s.json().format, 'sample');
    assert.equal(s.json().imported, 2);
    assert.match(s.json().notes.join('; '), /1 duplicate completion.*1 completion without a partner/);
    const t = await f.store.getTask(s.json().taskIds[0]);
    assert.deepEqual(
      [t!.prompt, t!.completions, t!.meta],
      ['A', [' one', ' two'], { source: 'sample', lines: [1, 2] }],
    );
    const k3 = await f.call('POST', url, f.tokens.admin, { jsonl: sample, completionsPerTask: 3 });
    assert.deepEqual((await f.store.getTask(k3.json().taskIds[0]))!.completions, [' one', ' two', ' three']);
    const deep = `{"prompt": "p", "completions": ["a", "b"], "meta": ${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`;
    const nested = await f.call('POST', url, f.tokens.admin, { jsonl: `${JSON.stringify(pair(7))}\n${deep}` });
    assert.equal(nested.statusCode, 400, nested.body.slice(0, 300));
    assert.deepEqual(
      errorOf(nested).issues!.map((i) => [i.line, i.field]),
      [[2, 'meta']],
    );
    assert.match(errorOf(nested).issues![0].message, /nests objects and arrays more than 32 levels deep/);
    const mixed = await f.call('POST', url, f.tokens.admin, {
      jsonl: `${JSON.stringify(pair(1))}\n${JSON.stringify({ prompt: 'A', completion: 'z' })}`,
      format: 'auto',
    });
    assert.equal(errorOf(mixed).issues![0].line, 2);
    assert.match(errorOf(mixed).message, /one file holds one format/);
    assert.equal(errorOf(await f.call('POST', url, f.tokens.admin, { jsonl: 'x', format: 'csv' })).field, 'format');
    await f.store.close();
  });

  it('the import route takes large bodies up to its own limit', async () => {
    const f = await fixture({ limits: { import: 200_000 } });
    const url = `/api/projects/${f.project}/tasks/import`;
    // ~80 KB: over the small limit
    const lines = Array.from({ length: 1500 }, (_, i) => JSON.stringify(pair(i))).join('\n');
    const r = await f.call('POST', url, f.tokens.admin, { jsonl: lines });
    assert.equal(r.statusCode, 201, r.body.slice(0, 200));
    assert.equal(r.json().imported, 1500);
    const big = await f.call('POST', url, f.tokens.admin, { jsonl: lines + lines + lines });
    assert.equal(big.statusCode, 413);
    assert.match(errorOf(big).message, /limit of 195\.3 KB/);
    await f.store.close();
  });

  it('generates tasks with the policy callback, one generation at a time', async () => {
    const none = await fixture();
    const url = (f: Fixture) => `/api/projects/${f.project}/tasks/generate`;
    const off = await none.call('POST', url(none), none.tokens.admin, { prompts: ['hi'] });
    assert.equal(off.statusCode, 501);
    assert.match(errorOf(off).message, /rlhf serve --policy DIR/);
    await none.store.close();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls: [string[], number][] = [];
    const f = await fixture({
      generate: async (prompts, n) => {
        calls.push([prompts, n]);
        await gate;
        return prompts.map((p) => Array.from({ length: n }, (_, i) => (p === 'same' ? 'same text' : `${p} → ${i}`)));
      },
    });
    assert.equal((await f.call('GET', '/api/me', f.tokens.admin)).json().features.generate, true);
    const pending = f.call('POST', url(f), f.tokens.admin, { prompts: ['a', 'b', 'same'], n: 4 });
    await new Promise((r) => setTimeout(r, 20));
    const busy = await f.call('POST', url(f), f.tokens.admin, { prompts: ['c'] });
    assert.equal(busy.statusCode, 503);
    assert.equal(busy.headers['retry-after'], '10');
    release();
    const r = await pending;
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().imported, 4, 'a and b: 4 samples each in pairs; "same" gave one distinct text');
    assert.deepEqual(calls, [[['a', 'b', 'same'], 4]]);
    assert.deepEqual((await f.store.getTask(r.json().taskIds[0]))!.meta, { source: 'generate', n: 4 });
    assert.equal(errorOf(await f.call('POST', url(f), f.tokens.admin, { prompts: [], n: 2 })).field, 'prompts');
    assert.equal(errorOf(await f.call('POST', url(f), f.tokens.admin, { prompts: ['x'], n: 1 })).field, 'n');
    const g = await fixture({
      generate: async () => {
        throw new Error('prompt too long for the context');
      },
    });
    const fail = await g.call('POST', url(g), g.tokens.admin, { prompts: ['x'] });
    assert.equal(fail.statusCode, 500);
    assert.match(errorOf(fail).message, /generation failed: prompt too long/);
    await f.store.close();
    await g.store.close();
  });

  it(
    'stats give throughput and agreement; a disabled labeler leaves the exports, which read back through ' + 'src/data',
    async () => {
      const f = await fixture();
      await f.store.addTasks(f.project, [pair(1), pair(2), pair(3)]);
      await labelAll(f, 2);
      const s = (await f.call('GET', `/api/projects/${f.project}/stats`, f.tokens.admin)).json();
      assert.deepEqual(s.agreement, { n: 3, rate: 1 });
      assert.equal(s.judgments, 6);
      const ann = s.labelers.find((l: { name: string }) => l.name === 'ann');
      assert.equal(ann.done, 3);
      assert.equal(ann.throughput.judgments, 3);
      assert.equal(ann.throughput.lastHour, 3);

      const dir = mkdtempSync(join(tmpdir(), 'rlhf-export-'));
      try {
        const get = async (q: string) => {
          const r = await f.call('GET', `/api/projects/${f.project}/export?${q}`, f.tokens.admin);
          assert.equal(r.statusCode, 200, r.body);
          const file = join(dir, `${q.replace(/\W/g, '_')}.jsonl`);
          writeFileSync(file, r.body);
          return { r, read: readComparisons(file) };
        };
        const ours = await get('format=comparisons');
        assert.match(
          String(ours.r.headers['content-disposition']),
          /attachment; filename="summaries-comparisons.jsonl"/,
        );
        assert.equal(ours.read.format, 'comparison');
        assert.deepEqual(ours.read.issues, []);
        assert.deepEqual(
          ours.read.comparisons,
          await f.store.exportComparisons(f.project),
          'our format round-trips exactly',
        );
        assert.deepEqual(
          ours.read.comparisons.map((c) => c.ranking),
          [
            [0, 1],
            [0, 1],
            [0, 1],
            [0, 1],
            [0, 1],
            [0, 1],
          ],
        );
        const trl = await get('format=trl&margin=1');
        assert.equal(trl.read.format, 'trl');
        assert.deepEqual(
          trl.read.comparisons.map((c) => [c.completions[0], c.margin]),
          ours.read.comparisons.map((c) => [c.completions[0], c.confidence]),
        );
        assert.equal((await get('format=trl')).read.comparisons[0].margin, undefined);

        await f.call('POST', `/api/users/${f.ids.bob}/disable`, f.tokens.admin, {});
        assert.equal(
          (await f.call('GET', '/api/me', f.tokens.bob)).statusCode,
          401,
          'a disabled labeler is signed out',
        );
        const after = await get('format=comparisons');
        assert.deepEqual([...new Set(after.read.comparisons.map((c) => c.labeler))], ['ann']);
        assert.equal((await get('format=comparisons&includeDisabled=1')).read.comparisons.length, 6);
        const s2 = (await f.call('GET', `/api/projects/${f.project}/stats`, f.tokens.admin)).json();
        assert.deepEqual(s2.agreement, { n: 0, rate: null }, 'the disabled labeler leaves agreement too');
        assert.equal(s2.labelers.find((l: { name: string }) => l.name === 'bob').disabled, true);

        // Enabled again: signed in with the same token, and back in exports and agreement.
        assert.equal(
          (await f.call('POST', `/api/users/${f.ids.bob}/enable`, f.tokens.admin, {})).json().user.disabled,
          false,
        );
        assert.equal((await f.call('GET', '/api/me', f.tokens.bob)).statusCode, 200);
        assert.equal((await get('format=comparisons')).read.comparisons.length, 6);
        // A new sign-in link: the old token stops working at once.
        const re = await f.call('POST', `/api/users/${f.ids.bob}/token`, f.tokens.admin, {});
        assert.equal(re.statusCode, 200);
        const { token, link, user } = re.json();
        assert.equal(user.name, 'bob');
        assert.ok(link.endsWith(`/#token=${token}`), link);
        assert.equal((await f.call('GET', '/api/me', f.tokens.bob)).statusCode, 401);
        assert.equal((await f.call('GET', '/api/me', token)).statusCode, 200);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const self = await f.call('POST', '/api/users/1/disable', f.tokens.admin, {});
      assert.equal(self.statusCode, 409);
      assert.equal((await f.call('POST', '/api/users/99/disable', f.tokens.admin, {})).statusCode, 404);
      assert.equal(
        (await f.call('POST', '/api/users/1/token', f.tokens.admin, {})).statusCode,
        409,
        'not your own token while signed in with it',
      );
      assert.equal((await f.call('POST', '/api/users/99/token', f.tokens.admin, {})).statusCode, 404);
      assert.equal((await f.call('POST', '/api/users/99/enable', f.tokens.admin, {})).statusCode, 404);
      assert.equal(
        errorOf(await f.call('GET', `/api/projects/${f.project}/export?format=xml`, f.tokens.admin)).field,
        'format',
      );
      await f.store.close();
    },
  );
});
