// The SQLite store's rows, how they become the store's records, and the lookups every part of the store
// shares (each fails with a StoreError that says what is missing or forbidden).

import type Database from 'better-sqlite3';
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

/** What the parts of the store share: the connection, the clock, and how long a lease lasts. */
export interface SqliteContext {
  readonly db: Database.Database;
  readonly now: () => Date;
  readonly leaseMs: number;
}

export interface ProjectRow {
  id: number;
  name: string;
  settings: string;
  created_at: string;
}
export interface UserRow {
  id: number;
  name: string;
  role: Role;
  disabled: number;
  created_at: string;
}
export interface TaskRow {
  id: number;
  project_id: number;
  kind: TaskKind;
  prompt: string;
  completions: string;
  gold: string | null;
  meta: string | null;
  created_at: string;
}
export interface JudgmentRow {
  id: number;
  task_id: number;
  labeler_id: number;
  submission_id: string;
  status: Judgment['status'];
  choice: number | null;
  ranking: string | null;
  thumb: Thumb | null;
  rating: number | null;
  shown: string;
  axes: string | null;
  feedback: string | null;
  created_at: string;
}

export const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  name: r.name,
  settings: JSON.parse(r.settings) as ProjectSettings,
  createdAt: r.created_at,
});
export const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  role: r.role,
  disabled: r.disabled === 1,
  createdAt: r.created_at,
});

export function toTask(r: TaskRow): Task {
  const t: Task = {
    id: r.id,
    projectId: r.project_id,
    kind: r.kind,
    prompt: r.prompt,
    completions: JSON.parse(r.completions) as string[],
    createdAt: r.created_at,
  };
  if (r.gold !== null) t.gold = JSON.parse(r.gold) as Task['gold'];
  if (r.meta !== null) t.meta = JSON.parse(r.meta) as Record<string, unknown>;
  return t;
}

export function toJudgment(r: JudgmentRow): Judgment {
  const j: Judgment = {
    id: r.id,
    taskId: r.task_id,
    labelerId: r.labeler_id,
    submissionId: r.submission_id,
    status: r.status,
    shown: JSON.parse(r.shown) as number[],
    createdAt: r.created_at,
  };
  if (r.choice !== null) j.choice = r.choice;
  if (r.ranking !== null) j.ranking = JSON.parse(r.ranking) as number[];
  if (r.thumb !== null) j.thumb = r.thumb;
  if (r.rating !== null) j.rating = r.rating;
  if (r.axes !== null) j.axes = JSON.parse(r.axes) as Record<string, number>;
  if (r.feedback !== null) j.feedback = r.feedback;
  return j;
}

export const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
export const isUnique = (e: unknown) => (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

// ---- lookups ----

/** The project, or StoreError not_found. */
export function requireProject(db: Database.Database, id: number): Project {
  const r = db.prepare('SELECT * FROM projects WHERE id = ?').get(requireId(id, 'projectId')) as ProjectRow | undefined;
  if (!r) throw new StoreError('not_found', `no project ${id}`);
  return toProject(r);
}

/** The user, or StoreError not_found. */
export function requireUser(db: Database.Database, id: number, field = 'userId'): User {
  const r = db.prepare('SELECT * FROM users WHERE id = ?').get(requireId(id, field)) as UserRow | undefined;
  if (!r) throw new StoreError('not_found', `no user ${id}`);
  return toUser(r);
}

/** An enabled member of the project, or StoreError forbidden. */
export function requireLabeler(db: Database.Database, projectId: number, labelerId: number): User {
  const u = requireUser(db, labelerId, 'labelerId');
  if (u.disabled) throw new StoreError('forbidden', `user ${u.name} is disabled`);
  if (!db.prepare('SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ?').get(projectId, labelerId)) {
    throw new StoreError('forbidden', `user ${u.name} is not a member of project ${projectId}`);
  }
  return u;
}
