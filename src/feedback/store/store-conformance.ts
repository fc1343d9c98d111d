// The store conformance suite: every FeedbackStore backend runs these same tests (sqlite.test.ts,
// postgres.test.ts), each on a fresh database of its own. What a judgment must match is in
// conformance-judging.ts, leases in conformance-leases.ts, the multi-process and crash tests in
// conformance-processes.ts, thumbs and Likert tasks in conformance-single.ts.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldError } from '../../data/field-error.js';
import { judgingTests } from './conformance-judging.js';
import { leaseTests } from './conformance-leases.js';
import { processTests } from './conformance-processes.js';
import { singleOutputTests } from './conformance-single.js';
import {
  assertDoneCounts,
  judge,
  pair,
  prefer,
  rankAs,
  setup,
  take,
  withHarness,
  type MakeHarness,
} from './conformance-harness.js';
import { hashToken } from './tokens.js';
import { StoreError, type TaskInput } from './types.js';

export type { MakeHarness, StoreHarness } from './conformance-harness.js';

const isCode = (code: string, reason?: string) => (e: unknown) =>
  e instanceof StoreError && e.code === code && (reason === undefined || e.reason === reason);
const isField = (f: string) => (e: unknown) => e instanceof FieldError && e.field === f;

/** Registers the suite under `name`; with `skip`, every test is reported skipped with that reason. */
export function runStoreConformance(name: string, make: MakeHarness, options: { skip?: string } = {}): void {
  describe(`${name} store conformance`, { skip: options.skip ?? false }, () => {
    coreTests(make);
    judgingTests(make);
    leaseTests(make);
    processTests(make);
    singleOutputTests(make);
  });
}

function coreTests(make: MakeHarness): void {
  test('tokens: returned once, stored only as a SHA-256 hash; a wrong or disabled token gives null', () =>
    withHarness(make, async (h) => {
      const store = await h.open();
      const { user, token } = await store.createUser('ann', 'admin');
      assert.ok(token.length >= 40);
      assert.deepEqual(await store.authenticate(token), user);
      assert.equal(await store.authenticate(token + 'x'), null);
      assert.equal(await store.authenticate(''), null);
      const rows = await h.rows('users');
      assert.equal(rows[0].token_sha256, hashToken(token));
      assert.ok(!JSON.stringify(rows).includes(token), 'the token itself is nowhere in the row');
      await store.disableUser(user.id);
      assert.equal(await store.authenticate(token), null);
      await assert.rejects(store.createUser('ann', 'labeler'), isCode('conflict'));
      // Enabled again, the same token works; a reissued token replaces it at once.
      assert.equal((await store.enableUser(user.id)).disabled, false);
      assert.deepEqual(await store.authenticate(token), user);
      const re = await store.reissueToken(user.id);
      assert.notEqual(re.token, token);
      assert.deepEqual(re.user, user);
      assert.equal(await store.authenticate(token), null, 'the old token stops working');
      assert.deepEqual(await store.authenticate(re.token), user);
      assert.equal((await h.rows('users'))[0].token_sha256, hashToken(re.token));
      await assert.rejects(store.reissueToken(99), isCode('not_found'));
      await assert.rejects(store.enableUser(99), isCode('not_found'));
    }));

  test('inputs are validated with errors naming the field', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { axes: ['accuracy'] });
      await assert.rejects(store.createProject('x', { overlap: 0 }), isField('settings.overlap'));
      await assert.rejects(store.createProject('x', { scale: 7 } as never), isField('settings.scale'));
      await assert.rejects(store.createProject('', {}), isField('name'));
      await assert.rejects(store.createProject('summaries'), isCode('conflict'));
      await assert.rejects(store.createUser('z', 'root' as never), isField('role'));
      await assert.rejects(
        store.addTasks(p.id, [pair(0), { prompt: 'p', completions: ['only one'] }]),
        isField('tasks[1].completions'),
      );
      await assert.rejects(
        store.addTasks(p.id, [{ prompt: 'p', completions: ['a', 'a'] }]),
        isField('tasks[0].completions[1]'),
      );
      await assert.rejects(store.addTasks(p.id, [{ ...pair(0), gold: [0, 2] }]), isField('tasks[0].gold[1]'));
      await assert.rejects(
        store.addTasks(p.id, [pair(1), { prompt: 'nul \u0000 here', completions: ['a', 'b'] }]),
        isField('tasks[1].prompt'),
      );
      const deep = JSON.parse(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`);
      await assert.rejects(
        store.addTasks(p.id, [{ ...pair(2), meta: deep }]),
        (e) => isField('tasks[0].meta')(e) && /more than 32 levels deep/.test((e as Error).message),
      );
      await store.addTasks(p.id, [{ ...pair(3), meta: JSON.parse(`${'{"a":'.repeat(31)}1${'}'.repeat(31)}`) }]);
      assert.equal((await store.projectStats(p.id)).tasks, 1, 'a bad batch adds nothing; 32 levels are fine');
      const [t, t3] = await store.addTasks(p.id, [pair(0), { prompt: 'p', completions: ['a', 'b', 'c'] }]);
      await assert.rejects(store.submitJudgment(judge(t, ids[0], 10)), isField('choice'));
      await assert.rejects(store.submitJudgment(judge(t, ids[0], 3, [0, 0])), isField('shown[1]'));
      await assert.rejects(
        store.submitJudgment({ ...judge(t, ids[0], 3), submissionId: 'bad id!' }),
        isField('submissionId'),
      );
      await assert.rejects(
        store.submitJudgment(judge(t, ids[0], 3, [0, 1], { axes: { style: 3 } })),
        isField('axes.style'),
      );
      await assert.rejects(
        store.submitJudgment(judge(t, ids[0], 3, [0, 1], { axes: { accuracy: 8 } })),
        isField('axes.accuracy'),
      );
      await assert.rejects(
        store.submitJudgment(judge(t, ids[0], 3, [0, 1], { feedback: 'a\u0000b' })),
        isField('feedback'),
      );
      await assert.rejects(
        store.submitJudgment({ taskId: t3, labelerId: ids[0], submissionId: 'k', shown: [2, 0, 1], ranking: [0, 1] }),
        isField('ranking'),
      );
      await assert.rejects(store.submitJudgment(judge(999, ids[0], 3)), isCode('not_found'));
      await assert.rejects(store.nextTask(999, ids[0]), isCode('not_found'));
      const { user: outsider } = await store.createUser('eve', 'labeler');
      await assert.rejects(store.nextTask(p.id, outsider.id), isCode('forbidden'));
      await assert.rejects(store.submitJudgment(judge(t, outsider.id, 3)), isCode('forbidden'));
      await assert.rejects(h.open({ leaseMs: 0 }), isField('leaseMs'));
    }));

  test('tasks round-trip exactly: order of ids, text, gold, meta', () =>
    withHarness(make, async (h) => {
      const { store, p } = await setup(h);
      const input: TaskInput[] = [
        {
          prompt: '',
          completions: ['ünï', 'emoji 🙂', 'quote " and \\ backslash'],
          meta: { z: 1, a: [null, { b: 'x' }] },
        },
        { ...pair(1), gold: [1, 0] },
        ...Array.from({ length: 50 }, (_, i) => pair(i + 2)),
      ];
      const ids = await store.addTasks(p.id, input);
      assert.equal(ids.length, input.length);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'ids increase in input order',
      );
      const t0 = await store.getTask(ids[0]);
      assert.deepEqual({ prompt: t0!.prompt, completions: t0!.completions, meta: t0!.meta }, input[0]);
      assert.equal(JSON.stringify(t0!.meta), JSON.stringify(input[0].meta), 'meta keeps its key order');
      assert.deepEqual((await store.getTask(ids[1]))!.gold, [1, 0]);
      assert.equal((await store.getTask(ids[51]))!.prompt, 'post 51');
      assert.equal(await store.getTask(ids[51] + 100), null);
      assert.deepEqual(await store.addTasks(p.id, []), []);
    }));

  test('submitJudgment is idempotent per (labeler, submissionId)', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h);
      const [t, t2] = await store.addTasks(p.id, [pair(0), pair(1)]);
      const a = await take(store, p.id, ids[0], t);
      const j = judge(t, ids[0], 2, a.shown, { feedback: 'too long' });
      const first = await store.submitJudgment(j);
      assert.equal(first.created, true);
      const again = await store.submitJudgment({ ...j, choice: 8 });
      assert.equal(again.created, false);
      assert.deepEqual(again.judgment, first.judgment, 'a retry returns the first judgment');
      assert.equal((await store.listJudgments(p.id)).length, 1);
      await assert.rejects(
        store.submitJudgment(judge(t, ids[0], 4, a.shown)),
        isCode('conflict', 'judged_already'),
        'a second judgment of the same task',
      );
      await assert.rejects(
        store.submitJudgment({ ...j, taskId: t2 }),
        isCode('conflict', 'submission_reused'),
        'the same submissionId for another task',
      );
    }));

  test('concurrent retries of one submission, through two connections, store it once', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 2 });
      const other = await h.open();
      const [t] = await store.addTasks(p.id, [pair(0)]);
      const body = judge(t, ids[0], 7, (await take(store, p.id, ids[0], t)).shown);
      const rs = await Promise.all([store, other, store, other, store, other].map((s) => s.submitJudgment(body)));
      assert.equal(rs.filter((r) => r.created).length, 1, 'exactly one attempt created it');
      assert.equal(new Set(rs.map((r) => r.judgment.id)).size, 1, 'every attempt answers with the same judgment');
      assert.equal((await other.listJudgments(p.id)).length, 1);
    }));

  test('nextTask respects overlap, never repeats a task, mixes in gold and hides its answer', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 2, goldEvery: 3 });
      const tasks = await store.addTasks(p.id, [pair(0), pair(1), pair(2), pair(3)]);
      const [gold] = await store.addTasks(p.id, [{ ...pair(9), gold: [1, 0] }]);
      const served = new Map<number, number[]>();
      for (let round = 0; round < 10; round++) {
        for (const l of ids) {
          const a = await store.nextTask(p.id, l);
          if (!a) continue;
          assert.ok(!('gold' in a));
          assert.deepEqual([...a.shown].sort(), [0, 1]);
          assert.deepEqual(
            (await store.nextTask(p.id, l))!.shown,
            a.shown,
            'the same task in the same order until judged',
          );
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
      await assertDoneCounts(h);
      const a = await store.nextTask(p.id, user.id);
      assert.ok(a && served.get(ids[0])!.includes(a.taskId));
      await assert.rejects(store.nextTask(p.id, ids[0]), isCode('forbidden'));
      await store.disableUser(ids[0]); // twice: no double count
      await assertDoneCounts(h);
      // Enabled again, their judgments count again (the task dee took holds one more than its overlap).
      assert.equal((await store.submitJudgment(judge(a!.taskId, user.id, 1, a!.shown))).created, true);
      await store.enableUser(ids[0]);
      await assertDoneCounts(h);
      const row = (await h.rows('tasks')).find((t) => t.id === a!.taskId)!;
      assert.equal(Number(row.done_count), 3, 'overlap 2, and no judgment dropped');
      await store.enableUser(ids[0]); // twice: no double count
      await assertDoneCounts(h);
      assert.equal(await store.nextTask(p.id, ids[0]), null, 'they have judged everything already');
    }));

  test('agreement with other labelers and with gold, on a hand-made example', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 3, goldEvery: 3 });
      const [a, b, c] = ids;
      const [t1, t2, g] = await store.addTasks(p.id, [pair(1), pair(2), { ...pair(3), gold: [0, 1] }]);
      // Winners by completion index (strength on the scale): T1 a:0 b:0 c:1; T2 a:1 b:1 c:tie; G (gold 0) a:0 b:1 c:0.
      const plan: [number, number, number, number][] = [
        [a, t1, 0, 3],
        [a, t2, 1, 4],
        [a, g, 0, 1],
        [b, t1, 0, 3],
        [b, t2, 1, 4],
        [b, g, 1, 2],
        [c, t1, 1, 2],
        [c, t2, 0, 0],
        [c, g, 0, 1],
      ];
      for (const [who, task, winner, strength] of plan) {
        const asg = await take(store, p.id, who, task); // oldest first; the third is gold
        await store.submitJudgment(judge(task, who, prefer(asg, winner, strength), asg.shown));
      }
      const s = await store.projectStats(p.id);
      assert.equal(s.tasks, 3);
      assert.equal(s.goldTasks, 1);
      assert.deepEqual(s.agreement, { n: 9, rate: 3 / 9 });
      const by = (id: number) => s.labelers.find((l) => l.userId === id)!;
      assert.deepEqual(by(a).agreement, { n: 6, rate: 3 / 6 });
      assert.deepEqual(by(b).agreement, { n: 6, rate: 2 / 6 });
      assert.deepEqual(by(c).agreement, { n: 6, rate: 1 / 6 });
      assert.deepEqual(
        [by(a).gold, by(b).gold, by(c).gold],
        [
          { n: 1, rate: 1 },
          { n: 1, rate: 0 },
          { n: 1, rate: 1 },
        ],
      );
      assert.equal(by(a).done, 3);
      await store.disableUser(c);
      const s2 = await store.projectStats(p.id);
      assert.deepEqual(s2.agreement, { n: 3, rate: 2 / 3 });
      assert.deepEqual(s2.labelers.find((l) => l.userId === a)!.agreement, { n: 3, rate: 2 / 3 });
    }));

  test('exportComparisons: shown order mapped back, confidence, ties, skips and disabled labelers', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 3, axes: ['coherence'] });
      const [t, t3] = await store.addTasks(p.id, [
        { ...pair(0), meta: { id: 'x' } },
        { prompt: 'q', completions: ['u', 'v', 'w'] },
      ]);
      const [ann, bob, cy] = ids;
      // Pairs: ann prefers completions[1] by 3 (confidence 0.75), bob says equal (no comparison), cy
      // prefers completions[0] by 4. Choices are in the order each was shown, which the export maps back.
      const at = await take(store, p.id, ann, t);
      const annChoice = prefer(at, 1, 3);
      await store.submitJudgment(
        judge(t, ann, annChoice, at.shown, { feedback: 'b misses the point', axes: { coherence: 6 } }),
      );
      await store.submitJudgment(judge(t, bob, 5, (await take(store, p.id, bob, t)).shown));
      const ct = await take(store, p.id, cy, t);
      await store.submitJudgment(judge(t, cy, prefer(ct, 0, 4), ct.shown));
      const a3 = await take(store, p.id, ann, t3);
      await store.submitJudgment({
        taskId: t3,
        labelerId: ann,
        submissionId: 'r1',
        shown: a3.shown,
        ranking: rankAs(a3, [0, 1, 2]),
      });
      await store.submitJudgment({
        taskId: t3,
        labelerId: bob,
        submissionId: 'r2',
        shown: (await take(store, p.id, bob, t3)).shown,
        status: 'skipped',
      });
      const c3 = await take(store, p.id, cy, t3);
      await store.submitJudgment({
        taskId: t3,
        labelerId: cy,
        submissionId: 'r3',
        shown: c3.shown,
        ranking: rankAs(c3, [2, 1, 0]),
        status: 'flagged',
      });
      await store.disableUser(ids[2]);
      const out = await store.exportComparisons(p.id);
      assert.equal(out.length, 2);
      assert.deepEqual(out[0], {
        prompt: 'post 0',
        completions: ['tl;dr 0 a', 'tl;dr 0 b'],
        ranking: [1, 0],
        confidence: 0.75,
        feedback: 'b misses the point',
        labeler: 'ann',
        time: '2024-05-01T12:00:' + out[0].time!.slice(17),
        source: 'feedback:summaries',
        meta: { id: 'x', task_id: t, judgment_id: 1, choice: annChoice, axes: { coherence: 6 } },
      });
      assert.deepEqual(out[1].ranking, [0, 1, 2]);
      assert.equal(out[1].confidence, undefined);
      const all = await store.exportComparisons(p.id, { includeDisabled: true, skipped: true });
      assert.deepEqual(
        all.map((c) => [c.labeler, c.ranking, c.confidence]),
        [
          ['ann', [1, 0], 0.75],
          ['cy', [0, 1], 1],
          ['ann', [0, 1, 2], undefined],
          ['cy', [2, 1, 0], undefined],
        ],
      );
      assert.equal(all[3].meta!.status, 'flagged');
    }));

  test('acknowledged writes are visible at once to another connection', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h);
      const reader = await h.open();
      const ts = await store.addTasks(p.id, [pair(0), pair(1)]);
      for (const t of ts) await store.submitJudgment(judge(t, ids[0], 3, (await take(store, p.id, ids[0], t)).shown));
      assert.equal((await reader.listJudgments(p.id)).length, 2);
      assert.deepEqual(
        (await reader.listProjects()).map((x) => x.name),
        ['summaries'],
      );
      await store.close();
      await store.close(); // closing twice is harmless
      assert.equal((await h.rows('judgments')).length, 2);
    }));
}
