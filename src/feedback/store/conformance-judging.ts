// Conformance tests of what a judgment must match: a task handed to this labeler, in the display
// order it was handed out in.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldError } from '../../data/field-error.js';
import { judge, pair, setup, take, withHarness, type MakeHarness } from './conformance-harness.js';
import { StoreError } from './types.js';

const isConflict = (reason: string) => (e: unknown) =>
  e instanceof StoreError && e.code === 'conflict' && e.reason === reason;
const isField = (f: string) => (e: unknown) => e instanceof FieldError && e.field === f;

export function judgingTests(make: MakeHarness): void {
  test('only a task given to the labeler can be judged, only in the order it was shown', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 2 });
      const [ann, bob] = ids;
      const [t1, t2] = await store.addTasks(p.id, [pair(1), pair(2)]);
      const [g] = await store.addTasks(p.id, [{ ...pair(9), gold: [1, 0] }]);
      for (const task of [t1, t2, g])
        await assert.rejects(
          store.submitJudgment(judge(task, ann, 3)),
          isConflict('not_assigned'),
          `task ${task} was never given to ann`,
        );
      const a = await take(store, p.id, ann, t1);
      const flipped = [...a.shown].reverse();
      await assert.rejects(
        store.submitJudgment(judge(t1, ann, 3, flipped)),
        (e) => isField('shown')(e) && (e as Error).message.includes(`shown to this labeler as [${a.shown.join(', ')}]`),
        'a display order other than the one given is refused',
      );
      await assert.rejects(store.submitJudgment(judge(t2, ann, 3)), isConflict('not_assigned'), 'out of turn');
      assert.equal((await store.listJudgments(p.id)).length, 0, 'nothing stored');
      assert.deepEqual((await store.nextTask(p.id, ann))!.shown, a.shown, 'the same order when asked again');
      const first = await store.submitJudgment(judge(t1, ann, 3, a.shown));
      assert.deepEqual(first.judgment.shown, a.shown, 'stored in the order given');
      // Bob is given the same task; his order is his own, and the store keeps it.
      const b = await take(store, p.id, bob, t1);
      const [row] = (await h.rows('assignments')).filter((r) => r.task_id === t1 && r.labeler_id === bob);
      assert.deepEqual(typeof row.shown === 'string' ? JSON.parse(row.shown) : row.shown, b.shown);
      assert.equal((await store.submitJudgment(judge(t1, bob, 7, b.shown))).created, true);
    }));
}
