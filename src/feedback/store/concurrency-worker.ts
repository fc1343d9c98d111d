// A worker process for the multi-process store tests (run from dist by multi-process.ts, never by
// `node --test`: its name matches no test pattern). It opens the store with openStore, as a server
// process would, and reports on stdout, one JSON object a line, only what the store acknowledged.
//   mode "label":  several labelers loop nextTask → submit, some retrying a submission (also
//                  concurrently), some walking away from their lease or coming back after it expired
//   mode "submit": one labeler takes and judges the given number of tasks in order, then idles until killed

import { openStore, type OpenStoreOptions } from './open.js';
import { StoreError, type FeedbackStore, type JudgmentStatus } from './types.js';

export interface WorkerConfig {
  mode: 'label' | 'submit';
  location: string;
  options: OpenStoreOptions;
  projectId: number;
  labelers: number[];
  seed: number;
  /** label: a labeler stops after this long with nothing to do. */
  patienceMs?: number;
  /** label: the first labeler walks away for good (holding a lease) after this many tasks. */
  leaveAfter?: number;
  /** label: chances per task of a late submission (after the lease expired), a skip, a retried submission. */
  lateRate?: number;
  skipRate?: number;
  retryRate?: number;
  /** submit: how many tasks to take (nextTask) and judge. */
  tasks?: number;
}

export type WorkerEvent =
  | {
      ack: {
        labelerId: number;
        submissionId: string;
        taskId: number;
        judgmentId: number;
        created: boolean;
        status: JudgmentStatus;
      };
    }
  /**
   * A refused submission: `late` when the labeler waited past the lease on purpose; heldMs from just
   * before the nextTask call to the refusal's arrival (the lease ran from after the one to after the other).
   */
  | {
      refused: {
        labelerId: number;
        submissionId: string;
        taskId: number;
        late: boolean;
        heldMs: number;
        message: string;
      };
    }
  | { done: { labelers: number; cycles: number; retried: number; late: number; left: number; ms: number } };

const emit = (e: WorkerEvent) => process.stdout.write(JSON.stringify(e) + '\n'); // pipes are synchronous on Linux
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A seeded uniform generator in [0, 1) (mulberry32), so runs with the same seed make the same choices.
 * NOTE: not the engine's RNG: the feedback service knows nothing of the engine (design.md §3).
 */
const rng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

async function label(store: FeedbackStore, cfg: WorkerConfig): Promise<void> {
  const t0 = Date.now();
  const leaseMs = cfg.options.leaseMs ?? 600_000;
  const counts = { cycles: 0, retried: 0, late: 0, left: 0 };
  const one = async (labelerId: number, k: number): Promise<void> => {
    const rand = rng(cfg.seed * 1000 + k);
    let idleSince: number | null = null;
    for (let got = 0; ; got++) {
      const askedAt = Date.now();
      const a = await store.nextTask(cfg.projectId, labelerId);
      if (!a) {
        idleSince ??= Date.now();
        if (Date.now() - idleSince > (cfg.patienceMs ?? 1000)) return;
        await sleep(50 + 50 * rand());
        got--;
        continue;
      }
      idleSince = null;
      if (k === 0 && got === cfg.leaveAfter) {
        counts.left++;
        return;
      } // the lease is abandoned: it must expire
      const late = rand() < (cfg.lateRate ?? 0);
      if (late) {
        counts.late++;
        await sleep(leaseMs * 1.5);
      }
      const status: JudgmentStatus = rand() < (cfg.skipRate ?? 0) ? 'skipped' : 'done';
      const body = {
        taskId: a.taskId,
        labelerId,
        submissionId: `p${process.pid}-l${labelerId}-t${a.taskId}`,
        status,
        shown: a.shown,
        ...(status === 'done' ? { choice: 1 + Math.floor(rand() * 9) } : {}),
      };
      // A retried submission: two copies at once (a double click), then one more later (a lost response).
      const retry = rand() < (cfg.retryRate ?? 0);
      if (retry) counts.retried++;
      const attempts = async (copies: number) => {
        const rs = await Promise.allSettled(Array.from({ length: copies }, () => store.submitJudgment(body)));
        for (const r of rs) {
          if (r.status === 'fulfilled') {
            const j = r.value.judgment;
            emit({
              ack: {
                labelerId,
                submissionId: j.submissionId,
                taskId: j.taskId,
                judgmentId: j.id,
                created: r.value.created,
                status: j.status,
              },
            });
          } else if (r.reason instanceof StoreError && r.reason.code === 'conflict') {
            emit({
              refused: {
                labelerId,
                submissionId: body.submissionId,
                taskId: a.taskId,
                late,
                heldMs: Date.now() - askedAt,
                message: r.reason.message,
              },
            });
          } else {
            throw r.reason;
          }
        }
      };
      await attempts(retry ? 2 : 1);
      if (retry) await attempts(1);
      counts.cycles++;
    }
  };
  await Promise.all(cfg.labelers.map((l, k) => one(l, k)));
  emit({ done: { labelers: cfg.labelers.length, ...counts, ms: Date.now() - t0 } });
}

async function submit(store: FeedbackStore, cfg: WorkerConfig): Promise<void> {
  for (let i = 0; i < (cfg.tasks ?? 0); i++) {
    const a = await store.nextTask(cfg.projectId, cfg.labelers[0]);
    if (!a) break;
    const t = a.taskId;
    const r = await store.submitJudgment({
      taskId: t,
      labelerId: cfg.labelers[0],
      submissionId: `k${t}`,
      choice: 2,
      shown: a.shown,
    });
    emit({
      ack: {
        labelerId: cfg.labelers[0],
        submissionId: `k${t}`,
        taskId: t,
        judgmentId: r.judgment.id,
        created: r.created,
        status: r.judgment.status,
      },
    });
  }
  setInterval(() => undefined, 1000); // stay up, connection open, until killed
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const store = await openStore(cfg.location, cfg.options);
try {
  if (cfg.mode === 'label') await label(store, cfg);
  else if (cfg.mode === 'submit') await submit(store, cfg);
  else throw new Error(`concurrency-worker: unknown mode ${JSON.stringify(cfg.mode)}; expected "label" or "submit"`);
} finally {
  if (cfg.mode !== 'submit') await store.close();
}
