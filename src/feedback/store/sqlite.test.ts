import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { FieldError } from '../../data/field-error.js';
import { SqliteFeedbackStore, hashToken } from './sqlite.js';
import { StoreError, type JudgmentInput } from './types.js';

let clock = 0;
const now = () => new Date(Date.UTC(2024, 4, 1, 12, 0, clock++));

async function setup(settings = {}, labelers = ['ann', 'bob', 'cy']) {
  const store = new SqliteFeedbackStore(':memory:', { now });
  const p = await store.createProject('summaries', settings);
  const ids: number[] = [];
  for (const n of labelers) {
    const { user } = await store.createUser(n, 'labeler');
    await store.addMember(p.id, user.id);
    ids.push(user.id);
  }
  return { store, p, ids };
}

const pair = (i: number) => ({ prompt: `post ${i}`, completions: [`tl;dr ${i} a`, `tl;dr ${i} b`] });
let sub = 0;
const judge = (taskId: number, labelerId: number, choice: number, shown = [0, 1], extra: Partial<JudgmentInput> = {}): JudgmentInput =>
  ({ taskId, labelerId, submissionId: `s-${sub++}`, choice, shown, ...extra });

test('tokens: returned once, stored only as a SHA-256 hash; a wrong or disabled token gives null', async () => {
  const store = new SqliteFeedbackStore(':memory:');
  const { user, token } = await store.createUser('ann', 'admin');
  assert.ok(token.length >= 40);
  assert.deepEqual(await store.authenticate(token), user);
  assert.equal(await store.authenticate(token + 'x'), null);
  assert.equal(await store.authenticate(''), null);
  const rows = store.db.prepare('SELECT * FROM users').all() as Record<string, unknown>[];
  assert.equal(rows[0].token_sha256, hashToken(token));
  assert.ok(!JSON.stringify(rows).includes(token), 'the token itself is nowhere in the row');
  await store.disableUser(user.id);
  assert.equal(await store.authenticate(token), null);
  await store.close();
});

test('inputs are validated with errors naming the field', async () => {
  const { store, p, ids } = await setup({ axes: ['accuracy'] });
  const field = (f: string) => (e: unknown) => e instanceof FieldError && e.field === f;
  await assert.rejects(store.createProject('x', { overlap: 0 }), field('settings.overlap'));
  await assert.rejects(store.createProject('x', { scale: 7 } as never), field('settings.scale'));
  await assert.rejects(store.createProject('', {}), field('name'));
  await assert.rejects(store.createProject('summaries'), (e) => e instanceof StoreError && e.code === 'conflict');
  await assert.rejects(store.createUser('z', 'root' as never), field('role'));
  await assert.rejects(store.addTasks(p.id, [pair(0), { prompt: 'p', completions: ['only one'] }]), field('tasks[1].completions'));
  await assert.rejects(store.addTasks(p.id, [{ prompt: 'p', completions: ['a', 'a'] }]), field('tasks[0].completions[1]'));
  await assert.rejects(store.addTasks(p.id, [{ ...pair(0), gold: [0, 2] }]), field('tasks[0].gold[1]'));
  assert.equal((await store.projectStats(p.id)).tasks, 0, 'a bad batch adds nothing');
  const [t, t3] = await store.addTasks(p.id, [pair(0), { prompt: 'p', completions: ['a', 'b', 'c'] }]);
  await assert.rejects(store.submitJudgment(judge(t, ids[0], 10)), field('choice'));
  await assert.rejects(store.submitJudgment(judge(t, ids[0], 3, [0, 0])), field('shown[1]'));
  await assert.rejects(store.submitJudgment({ ...judge(t, ids[0], 3), submissionId: 'bad id!' }), field('submissionId'));
  await assert.rejects(store.submitJudgment(judge(t, ids[0], 3, [0, 1], { axes: { style: 3 } })), field('axes.style'));
  await assert.rejects(store.submitJudgment(judge(t, ids[0], 3, [0, 1], { axes: { accuracy: 8 } })), field('axes.accuracy'));
  await assert.rejects(store.submitJudgment({ taskId: t3, labelerId: ids[0], submissionId: 'k', shown: [2, 0, 1], ranking: [0, 1] }), field('ranking'));
  await assert.rejects(store.submitJudgment(judge(999, ids[0], 3)), (e) => e instanceof StoreError && e.code === 'not_found');
  await store.close();
});

test('submitJudgment is idempotent per (labeler, submissionId)', async () => {
  const { store, p, ids } = await setup();
  const [t] = await store.addTasks(p.id, [pair(0)]);
  const j = judge(t, ids[0], 2, [1, 0], { feedback: 'too long' });
  const first = await store.submitJudgment(j);
  assert.equal(first.created, true);
  const again = await store.submitJudgment({ ...j, choice: 8 });
  assert.equal(again.created, false);
  assert.deepEqual(again.judgment, first.judgment, 'a retry returns the first judgment');
  assert.equal((await store.listJudgments(p.id)).length, 1);
  await assert.rejects(store.submitJudgment(judge(t, ids[0], 4)), (e) => e instanceof StoreError && e.code === 'conflict', 'a second judgment of the same task');
  await store.close();
});

test('nextTask respects overlap, never repeats a task, mixes in gold and hides its answer', async () => {
  const { store, p, ids } = await setup({ overlap: 2, goldEvery: 3 });
  const tasks = await store.addTasks(p.id, [pair(0), pair(1), pair(2), pair(3)]);
  const [gold] = await store.addTasks(p.id, [{ ...pair(9), gold: [1, 0] }]);
  const served = new Map<number, number[]>();
  for (let round = 0; round < 10; round++) {
    for (const l of ids) {
      const a = await store.nextTask(p.id, l);
      if (!a) continue;
      assert.ok(!('gold' in a));
      assert.deepEqual([...a.shown].sort(), [0, 1]);
      assert.deepEqual((await store.nextTask(p.id, l))!.shown, a.shown, 'the same task in the same order until judged');
      served.set(l, [...(served.get(l) ?? []), a.taskId]);
      await store.submitJudgment(judge(a.taskId, l, 3, a.shown));
    }
  }
  for (const [l, ts] of served) assert.equal(new Set(ts).size, ts.length, `labeler ${l} never sees a task twice`);
  const counts = new Map<number, number>();
  for (const j of await store.listJudgments(p.id)) counts.set(j.taskId, (counts.get(j.taskId) ?? 0) + 1);
  for (const t of tasks) assert.equal(counts.get(t), 2, `task ${t} has exactly overlap judgments`);
  assert.equal(counts.get(gold), 3, 'every labeler gets the gold task');
  assert.equal(served.get(ids[0])![2], gold, 'the 3rd task served is gold');
  for (const l of ids) assert.equal(await store.nextTask(p.id, l), null);
  // A disabled labeler's work no longer fills a task's places.
  const { user } = await store.createUser('dee', 'labeler');
  await store.addMember(p.id, user.id);
  await store.disableUser(ids[0]);
  const a = await store.nextTask(p.id, user.id);
  assert.ok(a && served.get(ids[0])!.includes(a.taskId));
  await assert.rejects(store.nextTask(p.id, ids[0]), (e) => e instanceof StoreError && e.code === 'forbidden');
  await store.close();
});

test('agreement with other labelers and with gold, on a hand-made example', async () => {
  const { store, p, ids } = await setup({ overlap: 3 });
  const [a, b, c] = ids;
  const [t1, t2, g] = await store.addTasks(p.id, [pair(1), pair(2), { ...pair(3), gold: [0, 1] }]);
  // Winners by completion index: T1 a:0 b:0 c:1; T2 a:1 b:1 c:tie; G (gold 0) a:0 b:1 c:0.
  for (const j of [
    judge(t1, a, 2, [0, 1]), judge(t1, b, 8, [1, 0]), judge(t1, c, 7, [0, 1]),
    judge(t2, a, 1, [1, 0]), judge(t2, b, 9, [0, 1]), judge(t2, c, 5, [1, 0]),
    judge(g, a, 4, [0, 1]), judge(g, b, 3, [1, 0]), judge(g, c, 6, [1, 0]),
  ]) await store.submitJudgment(j);
  const s = await store.projectStats(p.id);
  assert.deepEqual(s.agreement, { n: 9, rate: 3 / 9 });
  const by = (id: number) => s.labelers.find((l) => l.userId === id)!;
  assert.deepEqual(by(a).agreement, { n: 6, rate: 3 / 6 });
  assert.deepEqual(by(b).agreement, { n: 6, rate: 2 / 6 });
  assert.deepEqual(by(c).agreement, { n: 6, rate: 1 / 6 });
  assert.deepEqual([by(a).gold, by(b).gold, by(c).gold], [{ n: 1, rate: 1 }, { n: 1, rate: 0 }, { n: 1, rate: 1 }]);
  assert.equal(by(a).done, 3);
  await store.disableUser(c);
  const s2 = await store.projectStats(p.id);
  assert.deepEqual(s2.agreement, { n: 3, rate: 2 / 3 });
  assert.deepEqual(s2.labelers.find((l) => l.userId === a)!.agreement, { n: 3, rate: 2 / 3 });
  await store.close();
});

test('exportComparisons: shown order mapped back, confidence, ties, skips and disabled labelers', async () => {
  const { store, p, ids } = await setup({ overlap: 3, axes: ['coherence'] });
  const [t, t3] = await store.addTasks(p.id, [{ ...pair(0), meta: { id: 'x' } }, { prompt: 'q', completions: ['u', 'v', 'w'] }]);
  await store.submitJudgment(judge(t, ids[0], 2, [1, 0], { feedback: 'b misses the point', axes: { coherence: 6 } })); // A = completions[1]
  await store.submitJudgment(judge(t, ids[1], 5, [0, 1])); // equal: no comparison
  await store.submitJudgment(judge(t, ids[2], 9, [1, 0])); // B = completions[0]
  await store.submitJudgment({ taskId: t3, labelerId: ids[0], submissionId: 'r1', shown: [2, 0, 1], ranking: [1, 2, 0] });
  await store.submitJudgment({ taskId: t3, labelerId: ids[1], submissionId: 'r2', shown: [0, 1, 2], status: 'skipped' });
  await store.submitJudgment({ taskId: t3, labelerId: ids[2], submissionId: 'r3', shown: [0, 1, 2], ranking: [2, 1, 0], status: 'flagged' });
  await store.disableUser(ids[2]);
  const out = await store.exportComparisons(p.id);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], {
    prompt: 'post 0', completions: ['tl;dr 0 a', 'tl;dr 0 b'], ranking: [1, 0], confidence: 0.75,
    feedback: 'b misses the point', labeler: 'ann', time: '2024-05-01T12:00:' + out[0].time!.slice(17), source: 'feedback:summaries',
    meta: { id: 'x', task_id: t, judgment_id: 1, choice: 2, axes: { coherence: 6 } },
  });
  assert.deepEqual(out[1].ranking, [0, 1, 2]);
  assert.equal(out[1].confidence, undefined);
  const all = await store.exportComparisons(p.id, { includeDisabled: true, skipped: true });
  assert.deepEqual(all.map((c) => [c.labeler, c.ranking, c.confidence]), [['ann', [1, 0], 0.75], ['cy', [0, 1], 1], ['ann', [0, 1, 2], undefined], ['cy', [2, 1, 0], undefined]]);
  assert.equal(all[3].meta!.status, 'flagged');
  await store.close();
});

test('acknowledged writes are on disk: read by a second connection while the first is open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-store-'));
  try {
    const file = join(dir, 'fb.db');
    const w = new SqliteFeedbackStore(file);
    const p2 = await w.createProject('p');
    const { user } = await w.createUser('ann', 'labeler');
    await w.addMember(p2.id, user.id);
    const ts = await w.addTasks(p2.id, [pair(0), pair(1)]);
    for (const t of ts) await w.submitJudgment(judge(t, user.id, 3));
    assert.equal((w.db.pragma('journal_mode') as { journal_mode: string }[])[0].journal_mode, 'wal');
    const r = new Database(file, { readonly: true });
    assert.equal((r.prepare('SELECT count(*) AS n FROM judgments').get() as { n: number }).n, 2);
    r.close();
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nothing acknowledged is lost when the writing process is killed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-store-'));
  try {
    const file = join(dir, 'fb.db');
    const s = new SqliteFeedbackStore(file);
    const p = await s.createProject('p');
    const { user } = await s.createUser('ann', 'labeler');
    await s.addMember(p.id, user.id);
    const N = 40;
    const ts = await s.addTasks(p.id, Array.from({ length: N }, (_, i) => pair(i)));
    await s.close();
    const mod = fileURLToPath(new URL('./sqlite.js', import.meta.url));
    const script = `
      const { SqliteFeedbackStore } = await import(${JSON.stringify(mod)});
      const s = new SqliteFeedbackStore(${JSON.stringify(file)});
      for (const t of ${JSON.stringify(ts)}) {
        const r = await s.submitJudgment({ taskId: t, labelerId: ${user.id}, submissionId: 'k' + t, choice: 2, shown: [0, 1] });
        process.stdout.write('ack ' + r.judgment.taskId + '\\n');
      }
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: number[] = [];
    await new Promise<void>((resolve) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) acked.push(Number(l.split(' ')[1]));
        if (acked.length >= N / 2) { child.kill('SIGKILL'); resolve(); } // mid-stream, connection open
      });
    });
    await new Promise((r) => child.once('exit', r));
    const s2 = new SqliteFeedbackStore(file);
    const stored = (await s2.listJudgments(p.id)).map((j) => j.taskId);
    for (const t of acked) assert.equal(stored.filter((x) => x === t).length, 1, `acknowledged judgment of task ${t} stored once`);
    await s2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
