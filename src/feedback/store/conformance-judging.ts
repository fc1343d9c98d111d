// Conformance tests of what the store takes and hands out: a judgment must match a task handed to
// this labeler, in the display order it was handed out in; every text follows one rule; gold tasks
// are never stranded.

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

  test('gold tasks are served with goldEvery 0 (after the regular ones), and once the regular ones run out', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 1 }, ['ann', 'bob']);
      const [t1, t2, g1, g2] = await store.addTasks(p.id, [
        pair(1),
        pair(2),
        { ...pair(3), gold: [0, 1] },
        { ...pair(4), gold: [1, 0] },
      ]);
      const served = async (l: number) => {
        const out: number[] = [];
        for (let a = await store.nextTask(p.id, l); a; a = await store.nextTask(p.id, l)) {
          out.push(a.taskId);
          await store.submitJudgment(judge(a.taskId, l, 2, a.shown));
        }
        return out;
      };
      assert.deepEqual(await served(ids[0]), [t1, t2, g1, g2], 'goldEvery 0: the gold tasks after the others');
      assert.deepEqual(await served(ids[1]), [g1, g2], 'the regular tasks are full: every labeler still gets the gold');
      const s = await store.projectStats(p.id);
      assert.deepEqual(
        s.labelers.map((l) => [l.name, l.gold.n]),
        [
          ['ann', 2],
          ['bob', 2],
        ],
      );
      // goldEvery 3 with more gold than its turns: the rest come once the regular tasks run out.
      const q = await store.createProject('q', { overlap: 1, goldEvery: 3 });
      await store.addMember(q.id, ids[0]);
      const [r1, r2] = await store.addTasks(q.id, [pair(5), pair(6)]);
      const gs = await store.addTasks(
        q.id,
        [1, 2, 3].map((i) => ({ ...pair(10 + i), gold: [0, 1] })),
      );
      const seen: number[] = [];
      for (let a = await store.nextTask(q.id, ids[0]); a; a = await store.nextTask(q.id, ids[0])) {
        seen.push(a.taskId);
        await store.submitJudgment(judge(a.taskId, ids[0], 8, a.shown));
      }
      assert.deepEqual(seen, [r1, r2, gs[0], gs[1], gs[2]]);
    }));

  test(
    'text: NUL, lone surrogates, whitespace-only completions and bidi controls in names are refused in every ' +
      'field',
    () =>
      withHarness(make, async (h) => {
        const { store, p, ids } = await setup(h, { overlap: 1 });
        const task = (over: object) => ({ ...pair(1), ...over });
        const bad: [object, string, RegExp][] = [
          [task({ prompt: 'cut \ud83d here' }), 'tasks[0].prompt', /lone surrogate \(U\+D83D\) at offset 4/],
          [task({ completions: ['a\u0000', 'b'] }), 'tasks[0].completions[0]', /NUL character \(U\+0000\) at offset 1/],
          [
            task({ completions: ['a', '\udc00b'] }),
            'tasks[0].completions[1]',
            /lone surrogate \(U\+DC00\) at offset 0/,
          ],
          [task({ completions: ['a', ' \n\t '] }), 'tasks[0].completions[1]', /only whitespace/],
          [task({ meta: { src: ['x', 'y\u0000'] } }), 'tasks[0].meta.src[1]', /NUL character/],
          [task({ meta: { 'k\ud800': 1 } }), 'tasks[0].meta.k\ud800', /lone surrogate/],
        ];
        for (const [t, field, re] of bad)
          await assert.rejects(
            store.addTasks(p.id, [t as never]),
            (e) => isField(field)(e) && re.test((e as Error).message),
            field,
          );
        await assert.rejects(store.createProject('x\ud800'), isField('name'));
        // Bidirectional controls would let a name display as another ("xlab \u202Eevil\u202C" shows as "xlab live").
        for (const name of ['xlab \u202Eevil\u202C', 'a\u2067b\u2069', 'rlm\u200F'])
          await assert.rejects(
            store.createUser(name, 'labeler'),
            (e) =>
              isField('name')(e) && /bidirectional control character \(U\+20[0-9A-F]{2}\)/.test((e as Error).message),
            JSON.stringify(name),
          );
        await assert.rejects(store.createProject('\u202Dp'), isField('name'));
        await assert.rejects(store.createProject('q', { axes: ['ok', 'b\u202Ead'] }), isField('settings.axes[1]'));
        await assert.rejects(store.createUser('\u0000x', 'labeler'), isField('name'));
        // Whole pairs are fine anywhere, and come back exactly.
        const [t] = await store.addTasks(p.id, [
          task({ prompt: 'emoji 🙂', completions: ['𝔞', 'b 🙂'], meta: { e: '🙂' } }),
        ]);
        const a = await take(store, p.id, ids[0], t);
        await assert.rejects(
          store.submitJudgment(judge(t, ids[0], 2, a.shown, { feedback: 'half \ud83d' })),
          (e) => isField('feedback')(e) && /lone surrogate/.test((e as Error).message),
        );
        await store.submitJudgment(judge(t, ids[0], 2, a.shown, { feedback: 'fine 🙂' }));
        const [c] = await store.exportComparisons(p.id);
        assert.deepEqual(
          [c.prompt, c.completions, c.feedback, c.meta!.e],
          ['emoji 🙂', ['𝔞', 'b 🙂'], 'fine 🙂', '🙂'],
        );
      }),
  );
}
