// What the store conformance suite needs from a backend, and the fixtures its tests share. Test
// support only (imported by *.test.ts files).

import assert from 'node:assert/strict';
import type { Assignment, FeedbackStore, JudgmentInput, ProjectSettings, StoreOptions } from './types.js';
import type { OpenStoreOptions } from './open.js';

/** One fresh, empty database (a temporary file, a new schema) for one test. */
export interface StoreHarness {
  /** Opens a store on this database; each call is another connection (or pool) to the same data. */
  open(options?: StoreOptions): Promise<FeedbackStore>;
  /** What openStore takes, in another process, to reach the same database. */
  location: string;
  openOptions: OpenStoreOptions;
  /** Every row of a table as stored: what is at rest, for checks the interface cannot make. */
  rows(table: string): Promise<Record<string, unknown>[]>;
  /** Closes every store opened through it and deletes the database. */
  dispose(): Promise<void>;
}

export type MakeHarness = () => Promise<StoreHarness>;

/** Runs fn on a fresh database, always disposing of it. */
export async function withHarness(make: MakeHarness, fn: (h: StoreHarness) => Promise<void>): Promise<void> {
  const h = await make();
  try {
    await fn(h);
  } finally {
    await h.dispose();
  }
}

/** A clock that ticks one second per reading (distinct, ordered created_at times). */
export function tickingClock(): () => Date {
  let s = 0;
  return () => new Date(Date.UTC(2024, 4, 1, 12, 0, s++));
}

/** A clock that stands still until moved (lease expiry). */
export function manualClock(): { now: () => Date; advance: (ms: number) => void } {
  let ms = Date.UTC(2024, 5, 1, 9, 0, 0);
  return {
    now: () => new Date(ms),
    advance: (d) => {
      ms += d;
    },
  };
}

/** A store with one project and its labelers (members). */
export async function setup(
  h: StoreHarness,
  settings: Partial<ProjectSettings> = {},
  labelers = ['ann', 'bob', 'cy'],
  options: StoreOptions = {},
) {
  const store = await h.open({ now: tickingClock(), ...options });
  const p = await store.createProject('summaries', settings);
  const ids: number[] = [];
  for (const n of labelers) {
    const { user } = await store.createUser(n, 'labeler');
    await store.addMember(p.id, user.id);
    ids.push(user.id);
  }
  return { store, p, ids };
}

export const pair = (i: number) => ({ prompt: `post ${i}`, completions: [`tl;dr ${i} a`, `tl;dr ${i} b`] });

let sub = 0;
export const judge = (
  taskId: number,
  labelerId: number,
  choice: number,
  shown = [0, 1],
  extra: Partial<JudgmentInput> = {},
): JudgmentInput => ({ taskId, labelerId, submissionId: `s-${sub++}`, choice, shown, ...extra });

/** nextTask for this labeler, which must hand them `taskId` (for tests that judge particular tasks). */
export async function take(store: FeedbackStore, projectId: number, labelerId: number, taskId: number) {
  const a = await store.nextTask(projectId, labelerId);
  assert.equal(a?.taskId, taskId, `labeler ${labelerId} is given task ${taskId}`);
  return a as Assignment;
}

/** The choice on the 9-point scale preferring completion `winner` by `strength` (0 = equal … 4) as shown. */
export const prefer = (a: Assignment, winner: number, strength: number) =>
  a.shown[0] === winner ? 5 - strength : 5 + strength;

/** The ranking (positions in shown) that orders the completions as `order`, best first. */
export const rankAs = (a: Assignment, order: number[]) => order.map((c) => a.shown.indexOf(c));

/** tasks.done_count (kept by the store for nextTask) equals its done judgments by enabled labelers. */
export async function assertDoneCounts(h: StoreHarness): Promise<void> {
  const disabled = new Map((await h.rows('users')).map((u) => [u.id, Boolean(u.disabled)]));
  const judgments = await h.rows('judgments');
  for (const t of await h.rows('tasks')) {
    const n = judgments.filter((j) => j.task_id === t.id && j.status === 'done' && !disabled.get(j.labeler_id)).length;
    assert.equal(
      Number(t.done_count),
      n,
      `task ${t.id}: done_count ${t.done_count}, but ${n} done judgments by enabled labelers`,
    );
  }
}
