// The PostgreSQL store's building blocks, shared by its parts: rows and how they become the store's
// records, transactions under a project's advisory lock, prepared single-row queries, and lookups that
// fail with a StoreError saying what is missing or forbidden.

import { createHash } from 'node:crypto';
import type pg from 'pg';
import {
  StoreError,
  type Judgment,
  type Project,
  type ProjectSettings,
  type Role,
  type Task,
  type TaskKind,
  type Thumb,
  type User,
} from './types.js';
import { requireId } from './validate.js';

/** What the parts of the store share: the pool, the advisory-lock space, the clock, how long a lease lasts. */
export interface PgContext {
  readonly pool: pg.Pool;
  /** The first key of every advisory lock of this schema (the second is the project id). */
  readonly locks: number;
  readonly now: () => Date;
  readonly leaseMs: number;
}

export interface ProjectRow {
  id: number;
  name: string;
  settings: ProjectSettings;
  created_at: Date;
}
export interface UserRow {
  id: number;
  name: string;
  role: Role;
  disabled: boolean;
  created_at: Date;
}
export interface TaskRow {
  id: number;
  project_id: number;
  kind: TaskKind;
  prompt: string;
  completions: string[];
  gold: Task['gold'] | null;
  meta: Record<string, unknown> | null;
  created_at: Date;
}
export interface JudgmentRow {
  id: number;
  task_id: number;
  labeler_id: number;
  submission_id: string;
  status: Judgment['status'];
  choice: number | null;
  ranking: number[] | null;
  thumb: Thumb | null;
  rating: number | null;
  shown: number[];
  axes: Record<string, number> | null;
  feedback: string | null;
  created_at: Date;
}

// Explicit columns, never *, in prepared statements: a later migration adding a column must not change
// the result type of a plan cached by a running server ("cached plan must not change result type").
export const P_COLS = 'id, name, settings, created_at';
export const U_COLS = 'id, name, role, disabled, created_at';
export const T_COLS = 't.id, t.project_id, t.kind, t.prompt, t.completions, t.gold, t.meta, t.created_at';
export const J_COLS =
  'id, task_id, labeler_id, submission_id, status, choice, ranking, thumb, rating, shown, axes, feedback, created_at';

export const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  name: r.name,
  settings: r.settings,
  createdAt: r.created_at.toISOString(),
});
export const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  role: r.role,
  disabled: r.disabled,
  createdAt: r.created_at.toISOString(),
});

export function toTask(r: TaskRow): Task {
  const t: Task = {
    id: r.id,
    projectId: r.project_id,
    kind: r.kind,
    prompt: r.prompt,
    completions: r.completions,
    createdAt: r.created_at.toISOString(),
  };
  if (r.gold !== null) t.gold = r.gold;
  if (r.meta !== null) t.meta = r.meta;
  return t;
}

export function toJudgment(r: JudgmentRow): Judgment {
  const j: Judgment = {
    id: r.id,
    taskId: r.task_id,
    labelerId: r.labeler_id,
    submissionId: r.submission_id,
    status: r.status,
    shown: r.shown,
    createdAt: r.created_at.toISOString(),
  };
  if (r.choice !== null) j.choice = r.choice;
  if (r.ranking !== null) j.ranking = r.ranking;
  if (r.thumb !== null) j.thumb = r.thumb;
  if (r.rating !== null) j.rating = r.rating;
  if (r.axes !== null) j.axes = r.axes;
  if (r.feedback !== null) j.feedback = r.feedback;
  return j;
}

export const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
export const pgCode = (e: unknown) => (e as { code?: string }).code;
export const pgConstraint = (e: unknown) => (e as { constraint?: string }).constraint;

// ---- queries ----

/** Runs fn in a transaction holding the project's advisory lock (when given); commits before resolving. */
export async function tx<T>(
  cx: PgContext,
  projectLock: number | null,
  fn: (c: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const c = await cx.pool.connect();
  let broken: Error | undefined;
  try {
    // Both are integers of ours, so BEGIN and the lock can go in one round trip (simple protocol).
    await c.query(
      projectLock === null ? 'BEGIN' : `BEGIN; SELECT pg_advisory_xact_lock(${cx.locks | 0}, ${projectLock | 0})`,
    );
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } catch (e) {
    await c.query('ROLLBACK').catch((re: Error) => {
      broken = re;
    });
    throw e;
  } finally {
    c.release(broken); // a connection that cannot even roll back is discarded, not reused
  }
}

/**
 * The first row (if any) of a query run as a named prepared statement: planned once per connection,
 * not per call (planning nextTask's queries cost more than running them).
 */
export async function one<R extends pg.QueryResultRow>(
  sql: string,
  params: unknown[],
  c: pg.ClientBase | pg.Pool,
): Promise<R | undefined> {
  const name = 'rlhf_' + createHash('sha1').update(sql).digest('hex').slice(0, 16);
  return (await c.query<R>({ name, text: sql, values: params })).rows[0];
}

// ---- lookups ----

/** The project, or StoreError not_found. */
export async function requireProject(c: pg.ClientBase | pg.Pool, id: number): Promise<Project> {
  const r = await one<ProjectRow>(`SELECT ${P_COLS} FROM projects WHERE id = $1`, [requireId(id, 'projectId')], c);
  if (!r) throw new StoreError('not_found', `no project ${id}`);
  return toProject(r);
}

/** The user, or StoreError not_found. */
export async function requireUser(c: pg.ClientBase | pg.Pool, id: number, field = 'userId'): Promise<User> {
  const r = await one<UserRow>(`SELECT ${U_COLS} FROM users WHERE id = $1`, [requireId(id, field)], c);
  if (!r) throw new StoreError('not_found', `no user ${id}`);
  return toUser(r);
}

/** An enabled member of the project, or StoreError forbidden. */
export async function requireLabeler(c: pg.ClientBase | pg.Pool, projectId: number, labelerId: number): Promise<User> {
  const u = await requireUser(c, labelerId, 'labelerId');
  if (u.disabled) throw new StoreError('forbidden', `user ${u.name} is disabled`);
  if (
    !(await one(
      'SELECT 1 AS member FROM project_members WHERE project_id = $1 AND user_id = $2',
      [projectId, labelerId],
      c,
    ))
  ) {
    throw new StoreError('forbidden', `user ${u.name} is not a member of project ${projectId}`);
  }
  return u;
}
