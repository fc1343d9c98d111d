// `rlhf serve` and `rlhf feedback …` as a user runs them: the built CLI in a child process.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readComparisons } from '../data/read-comparisons.js';
import { letterPolicy } from '../train/test-fixtures.js';
import { SqliteFeedbackStore } from '../feedback/store/sqlite.js';

const BIN = fileURLToPath(new URL('../../bin/rlhf.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rlhf-serve-'));
const { RLHF_ADMIN_TOKEN: _unset, ...inherited } = process.env;
const ENV = { ...inherited, RLHF_THREADS: '1' };
const children: ChildProcessWithoutNullStreams[] = [];
const cleanup: string[] = [dir];

after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

/** Starts `rlhf serve …` and resolves with its stdout once it has printed `until`. */
function serve(
  args: string[],
  until: RegExp,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcessWithoutNullStreams; out: string; err: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { env: { ...ENV, ...env } });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '',
      err = '';
    const timer = setTimeout(() => reject(new Error(`no ${until} in 20 s; stdout: ${out}; stderr: ${err}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (until.test(out)) {
        clearTimeout(timer);
        resolve({ child, out, err: () => err });
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const stop = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((r) => {
    child.once('exit', (code) => r(code));
    child.kill('SIGTERM');
  });

function rlhf(...args: string[]): { out: string; err: string; status: number } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: ENV });
  return { out: r.stdout, err: r.stderr, status: r.status ?? -1 };
}

async function api(base: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

describe('rlhf serve', () => {
  it('prints its URL and, on a new store only, an admin sign-in link that works; stops on SIGTERM', async () => {
    const db = join(dir, 'first.db');
    const { child, out } = await serve(['--database', db], /admin#token=\S+\n/);
    const base = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)![1];
    const token = decodeURIComponent(/admin#token=(\S+)/.exec(out)![1]);
    const me = await api(base, '/api/me', token);
    assert.equal(me.status, 200);
    assert.deepEqual([me.json.user.name, me.json.user.role], ['admin', 'admin']);
    assert.match(await (await fetch(base + '/')).text(), /<title>Labeling/);
    assert.equal(await stop(child), 0);
    const again = await serve(['--database', db], /admin page/);
    await new Promise((r) => setTimeout(r, 200));
    assert.doesNotMatch(again.out, /token=/, 'the link is shown once: the store has an admin now');
    await stop(again.child);
  });

  it('takes --admin-token or RLHF_ADMIN_TOKEN instead of creating an admin, and refuses a short one', async () => {
    const short = rlhf('serve', '--port', '0', '--database', join(dir, 'x.db'), '--admin-token', 'abc');
    assert.equal(short.status, 1);
    assert.match(short.err, /--admin-token \(or RLHF_ADMIN_TOKEN\) must be at least 16 characters/);
    const { child, out } = await serve(['--database', join(dir, 'env.db')], /admin page/, {
      RLHF_ADMIN_TOKEN: 'env-admin-token-0123456789',
    });
    const base = /listening on (\S+)\//.exec(out)![1];
    assert.equal((await api(base, '/api/users', 'env-admin-token-0123456789')).status, 200);
    assert.doesNotMatch(out, /token=/);
    await stop(child);
    // On the command line it works, with a warning: every local user can read it.
    const db = join(dir, 'flag.db');
    writeFileSync(db, '');
    chmodSync(db, 0o644);
    const flag = await serve(['--database', db, '--admin-token', 'flag-admin-token-0123456789'], /admin page/);
    await new Promise((r) => setTimeout(r, 200));
    assert.match(
      flag.err(),
      new RegExp(
        /warning: --admin-token on the command line can be read by every user .* set the environment /.source +
          /variable RLHF_ADMIN_TOKEN instead/.source,
      ),
    );
    assert.match(
      flag.err(),
      new RegExp(`warning: ${db} can be read by other users of this machine \\(mode 644\\).*chmod 600`),
    );
    const base2 = /listening on (\S+)\//.exec(flag.out)![1];
    assert.equal((await api(base2, '/api/users', 'flag-admin-token-0123456789')).status, 200);
    await stop(flag.child);
    assert.match(rlhf('serve', '--help').out, /Prefer the environment\s+variable\s+RLHF_ADMIN_TOKEN/);
    const bad = rlhf('serve', '--port', '0', '--database', 'mysql://x@y/z');
    assert.equal(bad.status, 1);
    assert.match(bad.err, /not a feedback store/);
  });

  it('--policy DIR: the admin generates tasks from prompts, sampled in a worker thread', async () => {
    const { dir: policy } = letterPolicy(10);
    cleanup.push(dirname(policy));
    const { child, out } = await serve(
      ['--database', join(dir, 'gen.db'), '--policy', policy, '--max-new-tokens', '6'],
      /admin#token=\S+\n/,
    );
    const base = /listening on (\S+)\//.exec(out)![1];
    const token = decodeURIComponent(/admin#token=(\S+)/.exec(out)![1]);
    assert.equal((await api(base, '/api/me', token)).json.features.generate, true);
    const p = await api(base, '/api/projects', token, { name: 'letters' });
    const g = await api(base, `/api/projects/${p.json.project.id}/tasks/generate`, token, {
      prompts: ['a b', 'c d', 'e'],
      n: 4,
    });
    assert.equal(g.status, 201, JSON.stringify(g.json));
    assert.ok(g.json.imported >= 3, JSON.stringify(g.json));
    await stop(child);
    const missing = rlhf('serve', '--port', '0', '--database', join(dir, 'm.db'), '--policy', join(dir, 'nope'));
    assert.equal(missing.status, 1);
    assert.match(missing.err, /--policy .*nope/);
  });
});

describe('rlhf feedback', () => {
  it('create-project, add-labeler, import (all or nothing), stats and export work on the database', async () => {
    const db = join(dir, 'admin.db');
    assert.equal(
      rlhf(
        'feedback',
        'create-project',
        '--database',
        db,
        '--name',
        'tldr',
        '--overlap',
        '2',
        '--axes',
        'accuracy,coherence',
      ).status,
      0,
    );
    const add = rlhf(
      'feedback',
      'add-labeler',
      '--database',
      db,
      '--name',
      'ann',
      '--project',
      'tldr',
      '--url',
      'https://label.example.org',
    );
    assert.equal(add.status, 0, add.err);
    assert.match(
      add.out,
      new RegExp(
        /created labeler 1 "ann" in tldr\ntoken \(shown only now\): \S+\nsign-in link: /.source +
          /https:\/\/label\.example\.org\/#token=\S+/.source,
      ),
    );
    const tasks = join(dir, 'tasks.jsonl');
    writeFileSync(
      tasks,
      `${JSON.stringify({ prompt: 'p', completions: ['a', 'b'] })}\n` +
        `${JSON.stringify({ prompt: 'q', completions: ['c'] })}\n`,
    );
    const bad = rlhf('feedback', 'import', '--database', db, '--project', 'tldr', '--file', tasks);
    assert.equal(bad.status, 1);
    assert.match(bad.err, /tasks\.jsonl:2: field "completions": needs 2–16 completions, got 1\n/);
    assert.match(bad.err, /1 bad line; nothing imported/);
    writeFileSync(
      tasks,
      [
        { prompt: 'p', completions: ['a', 'b'] },
        { prompt: 'q', completions: ['c', 'd'] },
      ]
        .map((x) => JSON.stringify(x))
        .join('\n'),
    );
    const good = rlhf('feedback', 'import', '--database', db, '--project', '1', '--file', tasks);
    assert.match(good.out, /imported 2 tasks into "tldr" from 2 lines \(tasks\)/);
    assert.match(
      rlhf('feedback', 'import', '--database', db, '--project', 'nope', '--file', tasks).err,
      /--project nope: no such project; the store has 1 "tldr"/,
    );

    const store = new SqliteFeedbackStore(db);
    const ann = (await store.listUsers()).find((u) => u.name === 'ann')!;
    for (let i = 0; ; i++) {
      const a = await store.nextTask(1, ann.id);
      if (!a) break;
      await store.submitJudgment({
        taskId: a.taskId,
        labelerId: ann.id,
        submissionId: `s${i}`,
        shown: a.shown,
        choice: a.shown[0] === 0 ? 3 : 7,
      });
    }
    await store.close();
    const stats = rlhf('feedback', 'stats', '--database', db, '--project', 'tldr');
    assert.match(stats.out, /^tldr: 2 tasks \(0 gold\), 2 judgments, inter-labeler agreement –\nlabeler +status +done/);
    assert.match(stats.out, /\nann +active +2 +0 +0/);
    assert.equal(
      JSON.parse(rlhf('feedback', 'stats', '--database', db, '--project', 'tldr', '--json').out).labelers[0].done,
      2,
    );
    const out = join(dir, 'trl.jsonl');
    const ex = rlhf(
      'feedback',
      'export',
      '--database',
      db,
      '--project',
      'tldr',
      '--format',
      'trl',
      '--margin',
      '--out',
      out,
    );
    assert.equal(ex.status, 0, ex.err);
    assert.match(ex.err, /export: 2 comparisons → 2 trl records/);
    const r = readComparisons(out);
    assert.equal(r.format, 'trl');
    assert.deepEqual(
      r.comparisons.map((c) => [c.completions[0], c.margin]),
      [
        ['a', 0.5],
        ['c', 0.5],
      ],
    );
    const dis = rlhf('feedback', 'disable', '--database', db, '--user', 'ann');
    assert.match(dis.out, /disabled labeler 1 "ann"/);
    assert.equal(
      rlhf('feedback', 'export', '--database', db, '--project', 'tldr').out,
      '',
      "a disabled labeler's work leaves the export",
    );
    assert.match(
      rlhf('feedback', 'new-token', '--database', db, '--user', 'ann').out,
      /new token for labeler 1 "ann" \(disabled: `rlhf feedback enable` first/,
    );
    assert.match(rlhf('feedback', 'enable', '--database', db, '--user', '1').out, /enabled labeler 1 "ann"/);
    assert.equal(
      rlhf('feedback', 'export', '--database', db, '--project', 'tldr').out.trim().split('\n').length,
      2,
      'enabled again, their work is back',
    );
    const nt = rlhf('feedback', 'new-token', '--database', db, '--user', 'ann', '--url', 'https://label.example');
    const token = nt.out.match(/token \(shown only now\): (\S+)/)![1];
    assert.match(nt.out, new RegExp(`sign-in link: https://label.example/#token=${token}`));
    const check = new SqliteFeedbackStore(db);
    try {
      assert.equal((await check.authenticate(token))?.name, 'ann', 'the new token signs ann in');
    } finally {
      await check.close();
    }
    assert.match(
      rlhf('feedback', 'enable', '--database', db, '--user', 'zed').err,
      /--user zed: no such user; the store has 1 "ann"/,
    );
    assert.match(
      rlhf('feedback', 'export', '--database', db, '--project', 'tldr', '--format', 'csv').err,
      /expected one of trl, comparisons/,
    );
  });

  it('import --kind thumbs, thumbs and Likert lines side by side; stats by kind; export --format kto', async () => {
    const db = join(dir, 'single.db');
    assert.equal(rlhf('feedback', 'create-project', '--database', db, '--name', 'chat').status, 0);
    assert.equal(rlhf('feedback', 'add-labeler', '--database', db, '--name', 'cy', '--project', 'chat').status, 0);
    const file = join(dir, 'single.jsonl');
    writeFileSync(
      file,
      [
        { prompt: 'hi', completion: 'Hello! How can I help?' },
        { prompt: 'hi', completion: 'What.', gold: 'down' },
        { kind: 'likert', prompt: 'hi', completion: 'Hey.' },
      ]
        .map((x) => JSON.stringify(x))
        .join('\n'),
    );
    const imp = rlhf('feedback', 'import', '--database', db, '--project', 'chat', '--file', file, '--kind', 'thumbs');
    assert.equal(imp.status, 0, imp.err);
    assert.match(imp.out, /imported 3 tasks into "chat" from 3 lines \(tasks, 2 thumbs, 1 likert\); 1 gold task/);
    const store = new SqliteFeedbackStore(db);
    const [cy] = await store.listUsers();
    const answers: Record<string, object> = {
      'Hello! How can I help?': { thumb: 'up' },
      'What.': { thumb: 'down' },
      'Hey.': { rating: 3 },
    };
    for (let a = await store.nextTask(1, cy.id); a; a = await store.nextTask(1, cy.id))
      await store.submitJudgment({
        taskId: a.taskId,
        labelerId: cy.id,
        submissionId: `t${a.taskId}`,
        shown: a.shown,
        ...answers[a.completions[0]],
      });
    await store.close();
    const stats = rlhf('feedback', 'stats', '--database', db, '--project', 'chat').out;
    assert.match(
      stats,
      /\n {2}thumbs: 2 tasks \(1 gold\), 2 judgments, 50% up · agreement –, Fleiss κ – · gold 100% \(n 1\)\n/,
    );
    assert.match(stats, /\n {2}likert: 1 task \(0 gold\), 1 judgment, mean rating 3\.0 · within one point –/);
    const ex = rlhf('feedback', 'export', '--database', db, '--project', 'chat', '--format', 'kto');
    assert.equal(ex.status, 0, ex.err);
    assert.deepEqual(
      ex.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [
        { prompt: 'hi', completion: 'Hello! How can I help?', label: true },
        { prompt: 'hi', completion: 'What.', label: false },
        { prompt: 'hi', completion: 'Hey.', label: false },
      ],
    );
    assert.match(ex.err, /export: 3 judged thumbs\/likert tasks → 3 kto records\n/);
  });
});
