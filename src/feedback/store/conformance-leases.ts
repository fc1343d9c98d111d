// Conformance tests of task leases: nextTask reserves one of a task's `overlap` places for the labeler
// it serves; asking again gives the same task; expiry frees the place; a submission of any status ends it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, manualClock, pair, setup, withHarness, type MakeHarness } from './conformance-harness.js';
import { StoreError } from './types.js';

const MIN = 60_000;

export function leaseTests(make: MakeHarness): void {
  test('leases: the same task comes back (lease renewed) and others are served around it', () =>
    withHarness(make, async (h) => {
      const clock = manualClock();
      const { store, p, ids } = await setup(h, { overlap: 1 }, ['ann', 'bob', 'cy', 'dee'], {
        now: clock.now,
        leaseMs: 10 * MIN,
      });
      const [t1, t2, t3] = await store.addTasks(p.id, [pair(1), pair(2), pair(3)]);
      const a = await store.nextTask(p.id, ids[0]);
      assert.equal(a!.taskId, t1);
      assert.equal(a!.leaseExpiresAt, new Date(clock.now().getTime() + 10 * MIN).toISOString());
      assert.equal((await store.nextTask(p.id, ids[1]))!.taskId, t2, "ann's lease holds t1's only place");
      clock.advance(5 * MIN);
      const again = await store.nextTask(p.id, ids[0]);
      assert.equal(again!.taskId, t1);
      assert.equal(
        again!.leaseExpiresAt,
        new Date(clock.now().getTime() + 10 * MIN).toISOString(),
        'asking again renews the lease',
      );
      assert.equal((await store.nextTask(p.id, ids[2]))!.taskId, t3);
      assert.equal(await store.nextTask(p.id, ids[3]), null, 'every place is reserved');
      clock.advance(9 * MIN); // minute 14: bob's lease (to 10) has expired; ann's (to 15) and cy's (to 15) run
      assert.equal((await store.nextTask(p.id, ids[3]))!.taskId, t2);
      await store.submitJudgment(judge(t1, ids[0], 2, again!.shown));
      assert.equal(await store.nextTask(p.id, ids[0]), null, 'the submission ended the lease; t2 and t3 are reserved');
      clock.advance(2 * MIN);
      assert.equal((await store.nextTask(p.id, ids[0]))!.taskId, t3, "cy's lease expired: t3 is free");
    }));

  test('leases: an expired place goes to another labeler; a late submission is refused only if it would overfill', () =>
    withHarness(make, async (h) => {
      const clock = manualClock();
      const { store, p, ids } = await setup(h, { overlap: 1 }, ['ann', 'bob', 'cy'], { now: clock.now, leaseMs: MIN });
      const [t1, t2] = await store.addTasks(p.id, [pair(1), pair(2)]);
      const [ann, bob, cy] = ids;
      const a = await store.nextTask(p.id, ann);
      assert.equal(a!.taskId, t1);
      clock.advance(MIN + 1);
      const b = await store.nextTask(p.id, bob);
      assert.equal(b!.taskId, t1, "ann's lease expired: t1 is free again");
      await assert.rejects(
        store.submitJudgment(judge(t1, ann, 2, a!.shown)),
        (e) => e instanceof StoreError && e.reason === 'places_taken' && /overlap 1/.test(e.message),
        "ann is late and bob holds t1's place",
      );
      await store.submitJudgment(judge(t1, bob, 8, b!.shown));
      await assert.rejects(
        store.submitJudgment(judge(t1, ann, 2, a!.shown)),
        (e) => e instanceof StoreError && e.code === 'conflict' && e.reason === 'places_taken',
        'and now bob filled it',
      );
      assert.equal((await store.listJudgments(p.id)).length, 1);
      const c = await store.nextTask(p.id, cy);
      assert.equal(c!.taskId, t2);
      clock.advance(2 * MIN);
      const late = await store.submitJudgment(judge(t2, cy, 3, c!.shown));
      assert.equal(late.created, true, 'a late submission is taken while the place is still free');
      assert.equal(await store.nextTask(p.id, ann), null, 'both tasks are full');
    }));

  test('leases: a skip or a flag ends the lease and leaves the place to someone else', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 1 });
      const [t1, t2] = await store.addTasks(p.id, [pair(1), pair(2)]);
      const a = await store.nextTask(p.id, ids[0]);
      assert.equal(a!.taskId, t1);
      await store.submitJudgment({
        taskId: t1,
        labelerId: ids[0],
        submissionId: 'skip-1',
        shown: a!.shown,
        status: 'skipped',
      });
      assert.equal((await store.nextTask(p.id, ids[1]))!.taskId, t1, 'the skipped place is free');
      const a2 = await store.nextTask(p.id, ids[0]);
      assert.equal(a2!.taskId, t2, 'never the skipped task again');
      await store.submitJudgment({
        taskId: t2,
        labelerId: ids[0],
        submissionId: 'flag-2',
        shown: a2!.shown,
        status: 'flagged',
        feedback: 'offensive',
      });
      assert.equal((await store.nextTask(p.id, ids[2]))!.taskId, t2, 'the flagged place is free');
    }));

  test("leases: a disabled labeler's lease frees its place", () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 1 });
      const [t1] = await store.addTasks(p.id, [pair(1)]);
      assert.equal((await store.nextTask(p.id, ids[0]))!.taskId, t1);
      assert.equal(await store.nextTask(p.id, ids[1]), null, "ann's lease holds the only place");
      await store.disableUser(ids[0]);
      assert.equal((await store.nextTask(p.id, ids[1]))!.taskId, t1);
    }));

  test('leases: a gold task is never full, whatever its leases', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 1, goldEvery: 1 });
      const [g] = await store.addTasks(p.id, [{ ...pair(9), gold: [0, 1] }]);
      const [t] = await store.addTasks(p.id, [pair(1)]);
      const served = [];
      for (const l of ids) served.push(await store.nextTask(p.id, l));
      assert.deepEqual(
        served.map((a) => a!.taskId),
        [g, g, g],
      );
      for (const [i, a] of served.entries()) await store.submitJudgment(judge(g, ids[i], 4, a!.shown));
      assert.equal((await store.listJudgments(p.id)).length, 3);
      assert.equal((await store.nextTask(p.id, ids[0]))!.taskId, t, 'no gold left: a regular task');
    }));

  test('leases: many labelers asking at once through two connections never reserve more than overlap', () =>
    withHarness(make, async (h) => {
      const names = Array.from({ length: 10 }, (_, i) => `l${i}`);
      const clock = manualClock();
      const { store, p, ids } = await setup(h, { overlap: 2 }, names, { now: clock.now });
      // NOTE: one clock, or each store sees the other's leases as expired
      const other = await h.open({ now: clock.now });
      const tasks = await store.addTasks(p.id, [pair(1), pair(2), pair(3)]);
      const got = await Promise.all(ids.map((l, i) => [store, other][i % 2].nextTask(p.id, l)));
      const per = new Map<number, number>();
      for (const a of got) if (a) per.set(a.taskId, (per.get(a.taskId) ?? 0) + 1);
      assert.deepEqual(
        [...per.entries()].sort(),
        tasks.map((t) => [t, 2]),
        'each task handed to exactly overlap labelers',
      );
      assert.equal(got.filter((a) => a === null).length, 4);
      const rs = await Promise.all(
        got.map((a, i) => a && [other, store][i % 2].submitJudgment(judge(a.taskId, ids[i], 1 + (i % 9), a.shown))),
      );
      assert.equal(rs.filter((r) => r?.created).length, 6, 'every leased place can be submitted');
      const again = await Promise.all(ids.map((l, i) => [store, other][i % 2].nextTask(p.id, l)));
      assert.ok(
        again.every((a) => a === null),
        'all tasks full',
      );
    }));
}
