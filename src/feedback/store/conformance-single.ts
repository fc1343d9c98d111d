// Conformance tests of single-output tasks (thumbs up or down, a 1–7 rating): what they hold, what a
// labeler is handed and may answer, their agreement measures on a hand-made example, and their votes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldError } from '../../data/field-error.js';
import { judge, pair, setup, take, withHarness, type MakeHarness } from './conformance-harness.js';
import type { FeedbackStore, JudgmentInput } from './types.js';

const isField = (f: string) => (e: unknown) => e instanceof FieldError && e.field === f;
let sub = 0;
const answer = (taskId: number, labelerId: number, extra: Partial<JudgmentInput>): JudgmentInput => ({
  taskId,
  labelerId,
  submissionId: `single-${sub++}`,
  shown: [0],
  ...extra,
});

/** Every labeler in turn judges all their tasks: `plan[prompt][i]` is the answer of labeler i. */
async function judgeAll(
  store: FeedbackStore,
  projectId: number,
  ids: number[],
  plan: Record<string, Partial<JudgmentInput>[]>,
): Promise<void> {
  for (const [i, l] of ids.entries()) {
    for (let a = await store.nextTask(projectId, l); a; a = await store.nextTask(projectId, l))
      await store.submitJudgment(answer(a.taskId, l, plan[a.prompt][i]));
  }
}

export function singleOutputTests(make: MakeHarness): void {
  test('thumbs and likert tasks: stored with their kind and gold, handed out as one text, answered in kind', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 2 });
      const [ann] = ids;
      const bad = [
        [{ kind: 'thumbs', prompt: 'p', completions: ['a', 'b'] }, 'tasks[0].completions'],
        [{ kind: 'thumbs', prompt: 'p', completion: 'a', gold: 'yes' }, 'tasks[0].gold'],
        [{ kind: 'likert', prompt: 'p', completion: 'a', gold: 8 }, 'tasks[0].gold'],
        [{ kind: 'likert', prompt: 'p', completion: '  ' }, 'tasks[0].completion'],
        [{ kind: 'stars', prompt: 'p', completion: 'a' }, 'tasks[0].kind'],
        [{ prompt: 'p', completion: 'a' }, 'tasks[0].completion'],
      ] as const;
      for (const [task, field] of bad) await assert.rejects(store.addTasks(p.id, [task as never]), isField(field));
      const [up, rate, cmp] = await store.addTasks(p.id, [
        { kind: 'thumbs', prompt: 'is this polite?', completions: ['Sure, happy to help.'] },
        { kind: 'likert', prompt: 'rate it', completion: 'A fine answer.', gold: 6 } as never,
        pair(1),
      ]);
      assert.deepEqual(
        [await store.getTask(up), await store.getTask(rate)].map((t) => [t!.kind, t!.completions, t!.gold]),
        [
          ['thumbs', ['Sure, happy to help.'], undefined],
          ['likert', ['A fine answer.'], 6],
        ],
      );
      assert.equal((await store.getTask(cmp))!.kind, 'pair');
      const a = await take(store, p.id, ann, up);
      assert.deepEqual([a.kind, a.completions, a.shown], ['thumbs', ['Sure, happy to help.'], [0]]);
      for (const [extra, field] of [
        [{ choice: 3 }, 'choice'],
        [{ thumb: 'up', rating: 5 }, 'rating'],
        [{}, 'thumb'],
        [{ thumb: 'sideways' }, 'thumb'],
        [{ thumb: 'up', shown: [1] }, 'shown'],
      ] as const)
        await assert.rejects(store.submitJudgment(answer(up, ann, extra as Partial<JudgmentInput>)), isField(field));
      const j = await store.submitJudgment(answer(up, ann, { thumb: 'down', feedback: 'too curt' }));
      assert.deepEqual([j.judgment.thumb, j.judgment.feedback, j.judgment.rating], ['down', 'too curt', undefined]);
      const r = await take(store, p.id, ann, cmp);
      await assert.rejects(store.submitJudgment(judge(cmp, ann, 3, r.shown, { thumb: 'up' })), isField('thumb'));
      await store.submitJudgment(judge(cmp, ann, 3, r.shown));
      // The gold task comes last; its answer is never shown.
      const g = await take(store, p.id, ann, rate);
      assert.ok(!('gold' in g));
      await assert.rejects(store.submitJudgment(answer(rate, ann, { rating: 8 })), isField('rating'));
      await assert.rejects(store.submitJudgment(answer(rate, ann, { thumb: 'up' })), isField('thumb'));
      const skip = await store.submitJudgment(answer(rate, ann, { status: 'skipped' }));
      assert.equal(skip.judgment.rating, undefined, 'a skip needs no rating');
      assert.equal(await store.nextTask(p.id, ann), null);
      assert.deepEqual(
        (await store.projectStats(p.id)).kinds.map((k) => [k.kind, k.tasks, k.judgments]),
        [
          ['pair', 1, 1],
          ['thumbs', 1, 1],
          ['likert', 1, 0],
        ],
      );
      assert.equal((await store.exportComparisons(p.id)).length, 1, 'only the pair is a comparison');
    }));

  test('agreement, Fleiss κ, Krippendorff α and votes of single-output tasks, on a hand-made example', () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, { overlap: 3 });
      const [a, , c] = ids;
      const single = (kind: 'thumbs' | 'likert', prompt: string, gold?: string | number) =>
        ({ kind, prompt, completion: `${prompt} text`, ...(gold === undefined ? {} : { gold }) }) as never;
      const [t1, t2, g, l1, l2, lg] = await store.addTasks(p.id, [
        single('thumbs', 'T1'),
        single('thumbs', 'T2'),
        single('thumbs', 'G', 'up'),
        single('likert', 'L1'),
        single('likert', 'L2'),
        single('likert', 'LG', 6),
      ]);
      const th = (...xs: ('up' | 'down')[]) => xs.map((thumb) => ({ thumb }));
      const lk = (...xs: number[]) => xs.map((rating) => ({ rating }));
      await judgeAll(store, p.id, ids, {
        T1: th('up', 'up', 'down'),
        T2: th('down', 'down', 'down'),
        G: th('up', 'down', 'up'),
        L1: lk(6, 7, 3),
        L2: lk(2, 2, 3),
        LG: lk(6, 4, 7),
      });
      const s = await store.projectStats(p.id);
      // Agreeing pairs: T1 1, T2 3, G 1; L1 1, L2 3, LG 1 (ratings at most one point apart).
      assert.deepEqual(s.agreement, { n: 18, rate: 10 / 18 });
      const [thumbs, likert] = s.kinds;
      assert.deepEqual(
        { ...thumbs, kappa: undefined },
        {
          kind: 'thumbs',
          tasks: 3,
          goldTasks: 1,
          judgments: 9,
          agreement: { n: 9, rate: 5 / 9 },
          gold: { n: 3, rate: 2 / 3 },
          upRate: 4 / 9,
          kappa: undefined,
        },
      );
      // P̄ = (1/3 + 1 + 1/3) / 3 = 5/9, p = 4/9, Pₑ = 41/81: κ = (45 − 41) / (81 − 41) = 0.1.
      assert.ok(Math.abs(thumbs.kappa! - 0.1) < 1e-12, `κ ${thumbs.kappa}`);
      assert.deepEqual(
        { ...likert, alpha: undefined },
        {
          kind: 'likert',
          tasks: 3,
          goldTasks: 1,
          judgments: 9,
          agreement: { n: 9, rate: 5 / 9 },
          gold: { n: 3, rate: 2 / 3 },
          meanRating: 40 / 9,
          meanAbsDiff: 16 / 9,
          goldMeanAbsDiff: 1,
          alpha: undefined,
        },
      );
      // D_o = (52/2 + 4/2 + 28/2) / 9, D_e = 616 / 72: α = 1 − 3024/5544 = 5/11.
      assert.ok(Math.abs(likert.alpha! - 5 / 11) < 1e-12, `α ${likert.alpha}`);
      const mine = s.labelers.find((l) => l.userId === a)!;
      assert.deepEqual(
        [mine.agreement, mine.gold],
        [
          { n: 12, rate: 8 / 12 },
          { n: 2, rate: 1 },
        ],
      );

      const votes = (v: Awaited<ReturnType<FeedbackStore['exportVotes']>>) =>
        v.map((x) => [x.taskId, x.kind, x.up, x.down, x.neutral]);
      assert.deepEqual(votes(await store.exportVotes(p.id)), [
        [t1, 'thumbs', 2, 1, 0],
        [t2, 'thumbs', 0, 3, 0],
        [g, 'thumbs', 2, 1, 0],
        [l1, 'likert', 2, 1, 0],
        [l2, 'likert', 0, 3, 0],
        [lg, 'likert', 2, 0, 1],
      ]);
      const [first] = await store.exportVotes(p.id);
      assert.deepEqual([first.prompt, first.completion], ['T1', 'T1 text']);
      await store.disableUser(c);
      assert.deepEqual(
        votes(await store.exportVotes(p.id)).map((v) => v.slice(2)),
        [
          [2, 0, 0],
          [0, 2, 0],
          [1, 1, 0],
          [2, 0, 0],
          [0, 2, 0],
          [1, 0, 1],
        ],
        'without the disabled labeler',
      );
      assert.equal((await store.exportVotes(p.id, { includeDisabled: true }))[0].down, 1);
      assert.deepEqual((await store.projectStats(p.id)).kinds[0].agreement, { n: 3, rate: 2 / 3 });
    }));
}
