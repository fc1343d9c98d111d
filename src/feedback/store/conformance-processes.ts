// Conformance tests across OS processes: several worker processes (dist/.../concurrency-worker.js),
// each with several labelers, label one project in one database at once; and a process killed in the
// middle of its submissions. What the workers report as acknowledged is checked against the store.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDoneCounts, pair, setup, withHarness, type MakeHarness } from './conformance-harness.js';
import type { WorkerConfig, WorkerEvent } from './concurrency-worker.js';
import { runWorkers } from './multi-process.js';

type Ack = Extract<WorkerEvent, { ack: unknown }>['ack'];
type Refused = Extract<WorkerEvent, { refused: unknown }>['refused'];
type Done = Extract<WorkerEvent, { done: unknown }>['done'];

export function processTests(make: MakeHarness): void {
  test(
    'three processes labeling at once: no task beyond its overlap, every acknowledged submission stored once',
    { timeout: 90_000 },
    (t) =>
      withHarness(make, async (h) => {
        const OVERLAP = 3,
          TASKS = 24,
          WORKERS = 3,
          PER = 4,
          LEASE_MS = 500;
        const names = Array.from({ length: WORKERS * PER }, (_, i) => `labeler-${i}`);
        const { store, p, ids } = await setup(h, { overlap: OVERLAP, goldEvery: 6 }, names, { now: () => new Date() });
        const regular = await store.addTasks(
          p.id,
          Array.from({ length: TASKS }, (_, i) => pair(i)),
        );
        const gold = await store.addTasks(p.id, [
          { ...pair(100), gold: [0, 1] },
          { ...pair(101), gold: [1, 0] },
        ]);
        const configs: WorkerConfig[] = Array.from({ length: WORKERS }, (_, w) => ({
          mode: 'label',
          location: h.location,
          options: { ...h.openOptions, leaseMs: LEASE_MS },
          projectId: p.id,
          labelers: ids.slice(w * PER, (w + 1) * PER),
          seed: w + 1,
          patienceMs: LEASE_MS + 700,
          leaveAfter: 2,
          lateRate: 0.06,
          skipRate: 0.1,
          retryRate: 0.25,
        }));
        const t0 = Date.now();
        const runs = await runWorkers(configs);
        const ms = Date.now() - t0;
        const events = runs.flatMap((r) => r.events);
        const acks: Ack[] = events.flatMap((e) => ('ack' in e ? [e.ack] : []));
        const refused: Refused[] = events.flatMap((e) => ('refused' in e ? [e.refused] : []));
        const done: Done[] = events.flatMap((e) => ('done' in e ? [e.done] : []));
        assert.equal(done.length, WORKERS, 'every worker finished');
        const sum = (k: keyof Done) => done.reduce((s, d) => s + d[k], 0);
        assert.ok(
          sum('retried') > 0 && sum('left') > 0,
          `the run retried submissions (${sum('retried')}) and abandoned leases (${sum('left')})`,
        );
        // A lease is a promise: a labeler who is answered within it is never turned away. The store's
        // clock read in the refused submission came before the answer, and the lease ran from after the
        // nextTask call: so heldMs < LEASE_MS proves the lease was live, whatever the machine's load.
        // (Only the deliberately late may be refused, once others filled the place after their lease expired.)
        const early = refused.filter((r) => !r.late && r.heldMs < LEASE_MS);
        assert.deepEqual(early, [], 'no submission answered within its lease was refused');

        const judgments = await store.listJudgments(p.id);
        const key = (l: number, s: string) => `${l}/${s}`;
        const stored = new Map(judgments.map((j) => [key(j.labelerId, j.submissionId), j]));
        // Every acknowledged submission is stored exactly once, as acknowledged; every retry got the same judgment.
        const byKey = new Map<string, Ack[]>();
        for (const a of acks)
          byKey.set(key(a.labelerId, a.submissionId), [...(byKey.get(key(a.labelerId, a.submissionId)) ?? []), a]);
        for (const [k, as] of byKey) {
          const j = stored.get(k);
          assert.ok(j, `acknowledged submission ${k} is in the store`);
          for (const a of as)
            assert.deepEqual(
              [a.judgmentId, a.taskId, a.status],
              [j.id, j.taskId, j.status],
              `ack of ${k} matches the stored judgment`,
            );
          assert.equal(as.filter((a) => a.created).length, 1, `exactly one attempt of ${k} created it`);
        }
        assert.equal(judgments.length, byKey.size, 'nothing stored that was not acknowledged, no duplicates');
        assert.equal(
          new Set(judgments.map((j) => `${j.taskId}/${j.labelerId}`)).size,
          judgments.length,
          'no labeler judged a task twice',
        );
        // Overlap: never exceeded; and with enough labelers left, every regular task filled (abandoned leases expired).
        const doneOn = (t: number) => judgments.filter((j) => j.taskId === t && j.status === 'done').length;
        for (const t of regular) assert.equal(doneOn(t), OVERLAP, `task ${t} has exactly ${OVERLAP} done judgments`);
        for (const g of gold) assert.ok(doneOn(g) >= 1, `gold task ${g} was served`);
        await assertDoneCounts(h);
        t.diagnostic(
          `${judgments.length} judgments by ${WORKERS} processes in ${ms} ms; ${sum('cycles')} cycles, ` +
            `${sum('retried')} retried, ${sum('late')} late (${refused.length} refused), ${sum('left')} ` +
            `abandoned leases`,
        );
      }),
  );

  test('nothing acknowledged is lost when the writing process is killed', { timeout: 60_000 }, () =>
    withHarness(make, async (h) => {
      const { store, p, ids } = await setup(h, {}, ['ann']);
      const N = 40;
      await store.addTasks(
        p.id,
        Array.from({ length: N }, (_, i) => pair(i)),
      );
      const [run] = await runWorkers(
        [
          {
            mode: 'submit',
            location: h.location,
            options: h.openOptions,
            projectId: p.id,
            labelers: ids,
            seed: 0,
            tasks: N,
          },
        ],
        { killAfterAcks: N / 2 },
      );
      assert.equal(run.signal, 'SIGKILL');
      const acked = run.events.flatMap((e) => ('ack' in e ? [e.ack.taskId] : []));
      assert.ok(acked.length >= N / 2);
      const after = await h.open();
      const stored = (await after.listJudgments(p.id)).map((j) => j.taskId);
      for (const t of acked)
        assert.equal(stored.filter((x) => x === t).length, 1, `acknowledged judgment of task ${t} stored once`);
    }),
  );
}
