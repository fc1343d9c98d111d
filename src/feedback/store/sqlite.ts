// The feedback store on an embedded SQLite file (better-sqlite3): WAL journal, foreign keys on, and a
// wait for the write lock so several connections (or processes) can share the file. Every write is one
// immediate transaction, committed (and, with synchronous FULL, fsynced) before the promise resolves.
// NOTE: better-sqlite3 is synchronous, so SQLite's own busy wait would stop the event loop (every
// request, health included) while another process holds the lock. The store waits in short slices
// (SYNC_BUSY_MS) with asynchronous sleeps between them, and after busyTimeoutMs gives up with
// StoreError busy (HTTP 503 and Retry-After), while other requests are served meanwhile.
// NOTE: BEGIN IMMEDIATE takes the file's write lock before the first read, so a transaction that
// counts a task's free places and then takes one cannot interleave with another process doing the same.
// Rows and lookups are in sqlite-rows.ts; leasing a task and storing a judgment in sqlite-labeling.ts.

import type Database from 'better-sqlite3';
import type { Comparison } from '../../data/comparison.js';
import { leaseMsOption } from './leases.js';
import { openSqlite } from './sqlite-open.js';
import * as labeling from './sqlite-labeling.js';
import {
  type ProjectRow,
  type SqliteContext,
  type TaskRow,
  type JudgmentRow,
  type UserRow,
  isUnique,
  json,
  requireProject,
  requireUser,
  toJudgment,
  toProject,
  toTask,
  toUser,
} from './sqlite-rows.js';
import { computeProjectStats } from './stats.js';
import { chunksOf, parseTasks, partialImport, yieldToLoop } from './task-chunks.js';
import { judgmentToComparison } from './to-comparison.js';
import { tallyVotes } from './to-votes.js';
import { hashToken, newToken } from './tokens.js';
import {
  StoreError,
  type Assignment,
  type ExportOptions,
  type FeedbackStore,
  type Judgment,
  type JudgmentInput,
  type Project,
  type ProjectSettings,
  type ProjectStats,
  type Role,
  type StoreOptions,
  type SubmitResult,
  type Task,
  type TaskInput,
  type TaskVotes,
  type User,
} from './types.js';
import { parseSettings, requireId, requireInt, requireName, requireRole } from './validate.js';

export { hashToken, shownOrder } from './tokens.js';

export interface SqliteStoreOptions extends StoreOptions {
  /**
   * How long a call waits for another connection's write lock before StoreError busy (default 5000
   * ms); the event loop keeps running meanwhile.
   */
  busyTimeoutMs?: number;
  /** FULL (default) fsyncs every commit: survives power loss; NORMAL survives a killed process only. */
  synchronous?: 'FULL' | 'NORMAL';
}

/** The longest SQLite may block the event loop waiting for a lock, per attempt. */
const SYNC_BUSY_MS = 10;

const isBusy = (e: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String((e as { code?: unknown }).code));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The methods whose every call is retried whole while the file is locked: each is one transaction, or
 * reads. (addTasks commits chunk by chunk, and retries each chunk.)
 */
const RETRIED = [
  'createProject',
  'listProjects',
  'getProject',
  'createUser',
  'listUsers',
  'authenticate',
  'disableUser',
  'enableUser',
  'reissueToken',
  'addMember',
  'isMember',
  'getTask',
  'nextTask',
  'submitJudgment',
  'listJudgments',
  'projectStats',
  'exportComparisons',
  'exportVotes',
] as const;

/** Recounts done_count of the tasks a user judged (after disabling or enabling them). */
const RECOUNT =
  `UPDATE tasks SET done_count = (SELECT count(*) FROM judgments j JOIN users u ON u.id = j.labeler_id
  WHERE j.task_id = tasks.id AND j.status = 'done' AND u.disabled = 0) WHERE id IN (SELECT task_id FROM ` +
  `judgments WHERE labeler_id = ?)`;

export class SqliteFeedbackStore implements FeedbackStore {
  readonly db: Database.Database;
  /** The connection, clock and lease length, for the parts in sqlite-labeling.ts. */
  private readonly cx: SqliteContext;
  private readonly busyMs: number;

  /** Opens (creating if needed) the store at `path` (`:memory:` for tests) and migrates it. */
  constructor(
    readonly path: string,
    options: SqliteStoreOptions = {},
  ) {
    const leaseMs = leaseMsOption(options.leaseMs);
    this.busyMs = options.busyTimeoutMs === undefined ? 5000 : requireInt(options.busyTimeoutMs, 'busyTimeoutMs', 0);
    // At start nothing is being served yet: SQLite may wait for a lock the whole time.
    this.db = openSqlite(path, { busyMs: this.busyMs, synchronous: options.synchronous ?? 'FULL' });
    this.db.pragma(`busy_timeout = ${Math.min(SYNC_BUSY_MS, this.busyMs)}`);
    this.cx = { db: this.db, now: options.now ?? (() => new Date()), leaseMs };
    for (const m of RETRIED) {
      const f = this[m] as (...a: unknown[]) => Promise<unknown>;
      (this as Record<string, unknown>)[m] = (...a: unknown[]) => this.retrying(() => f.apply(this, a));
    }
  }

  /**
   * Runs f, again while the file is locked by another connection (SQLITE_BUSY), sleeping without
   * blocking between attempts; after busyTimeoutMs, StoreError busy. f must be safe to repeat: one
   * transaction (which a busy error leaves undone) or reads.
   */
  private async retrying<T>(f: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await f();
      } catch (e) {
        if (!isBusy(e)) throw e;
        const waited = Date.now() - t0;
        if (waited >= this.busyMs)
          throw new StoreError(
            'busy',
            `the feedback store ${this.path} is locked by another process (another rlhf, or a sqlite3 shell with ` +
              `an open transaction) and stayed locked for ${waited} ms; try again in a moment`,
          );
        await sleep(Math.min(50, 2 * 2 ** attempt, this.busyMs - waited) * (0.5 + Math.random()));
      }
    }
  }

  private time(): string {
    return this.cx.now().toISOString();
  }

  // ---- projects ----

  async createProject(name: string, settings?: Partial<ProjectSettings>): Promise<Project> {
    const n = requireName(name, 'name');
    const s = parseSettings(settings);
    try {
      return toProject(
        this.db
          .prepare('INSERT INTO projects (name, settings, created_at) VALUES (?, ?, ?) RETURNING *')
          .get(n, JSON.stringify(s), this.time()) as ProjectRow,
      );
    } catch (e) {
      if (isUnique(e)) throw new StoreError('conflict', `a project named "${n}" exists already`);
      throw e;
    }
  }

  async listProjects(): Promise<Project[]> {
    return (this.db.prepare('SELECT * FROM projects ORDER BY id').all() as ProjectRow[]).map(toProject);
  }

  async getProject(id: number): Promise<Project | null> {
    const r = this.db.prepare('SELECT * FROM projects WHERE id = ?').get(requireId(id, 'projectId')) as
      | ProjectRow
      | undefined;
    return r ? toProject(r) : null;
  }

  // ---- users ----

  async createUser(name: string, role: Role): Promise<{ user: User; token: string }> {
    const n = requireName(name, 'name');
    const ro = requireRole(role);
    const token = newToken();
    try {
      const r = this.db
        .prepare('INSERT INTO users (name, role, token_sha256, created_at) VALUES (?, ?, ?, ?) RETURNING *')
        .get(n, ro, hashToken(token), this.time()) as UserRow;
      return { user: toUser(r), token };
    } catch (e) {
      if (isUnique(e)) throw new StoreError('conflict', `a user named "${n}" exists already`);
      throw e;
    }
  }

  async listUsers(): Promise<User[]> {
    return (this.db.prepare('SELECT * FROM users ORDER BY id').all() as UserRow[]).map(toUser);
  }

  async authenticate(token: string): Promise<User | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 200) return null;
    const r = this.db.prepare('SELECT * FROM users WHERE token_sha256 = ? AND disabled = 0').get(hashToken(token)) as
      | UserRow
      | undefined;
    return r ? toUser(r) : null;
  }

  async disableUser(userId: number): Promise<User> {
    return this.setDisabled(userId, true);
  }

  async enableUser(userId: number): Promise<User> {
    return this.setDisabled(userId, false);
  }

  private setDisabled(userId: number, disabled: boolean): User {
    requireUser(this.db, userId);
    // A disabled labeler's done judgments and leases free their places at once; enabled again, the
    // judgments count again.
    this.db
      .transaction(() => {
        this.db.prepare('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, userId);
        this.db.prepare(RECOUNT).run(userId);
        if (disabled) this.db.prepare('DELETE FROM task_leases WHERE labeler_id = ?').run(userId);
      })
      .immediate();
    return requireUser(this.db, userId);
  }

  async reissueToken(userId: number): Promise<{ user: User; token: string }> {
    requireUser(this.db, userId);
    const token = newToken();
    this.db.prepare('UPDATE users SET token_sha256 = ? WHERE id = ?').run(hashToken(token), userId);
    return { user: requireUser(this.db, userId), token };
  }

  async addMember(projectId: number, userId: number): Promise<void> {
    requireProject(this.db, projectId);
    requireUser(this.db, userId);
    this.db.prepare('INSERT OR IGNORE INTO project_members (project_id, user_id) VALUES (?, ?)').run(projectId, userId);
  }

  async isMember(projectId: number, userId: number): Promise<boolean> {
    return !!this.db
      .prepare('SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ?')
      .get(requireId(projectId, 'projectId'), requireId(userId, 'userId'));
  }

  // ---- tasks and leases ----

  /**
   * Checks every task, then stores them in chunks, each chunk one transaction: between chunks other
   * calls are served. NOTE: so an import that fails midway (the lock held by another process past
   * busyTimeoutMs, the process killed) keeps the chunks committed before; the error says which.
   */
  async addTasks(projectId: number, tasks: TaskInput[]): Promise<number[]> {
    await this.retrying(async () => requireProject(this.db, projectId));
    const parsed = await parseTasks(tasks);
    const insert = this.db.prepare(
      'INSERT INTO tasks (project_id, kind, prompt, completions, gold, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const time = this.time();
    const store = this.db.transaction((chunk: TaskInput[]) =>
      chunk.map((t) =>
        Number(
          insert.run(
            projectId,
            t.kind ?? 'pair',
            t.prompt,
            JSON.stringify(t.completions),
            json(t.gold),
            json(t.meta),
            time,
          ).lastInsertRowid,
        ),
      ),
    );
    const ids: number[] = [];
    for (const chunk of chunksOf(parsed)) {
      try {
        ids.push(...(await this.retrying(async () => store.immediate(chunk))));
      } catch (e) {
        throw partialImport(e, ids, parsed.length);
      }
      if (ids.length < parsed.length) await yieldToLoop();
    }
    return ids;
  }

  async getTask(id: number): Promise<Task | null> {
    const r = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(requireId(id, 'taskId')) as TaskRow | undefined;
    return r ? toTask(r) : null;
  }

  async nextTask(projectId: number, labelerId: number): Promise<Assignment | null> {
    return labeling.nextTask(this.cx, projectId, labelerId);
  }

  // ---- judgments ----

  async submitJudgment(raw: JudgmentInput): Promise<SubmitResult> {
    return labeling.submitJudgment(this.cx, raw);
  }

  async listJudgments(projectId: number): Promise<Judgment[]> {
    requireProject(this.db, projectId);
    return (
      this.db
        .prepare('SELECT j.* FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = ? ORDER BY j.id')
        .all(projectId) as JudgmentRow[]
    ).map(toJudgment);
  }

  // ---- stats and export ----

  async projectStats(projectId: number): Promise<ProjectStats> {
    requireProject(this.db, projectId);
    const tasks = (
      this.db.prepare('SELECT * FROM tasks WHERE project_id = ? ORDER BY id').all(projectId) as TaskRow[]
    ).map(toTask);
    const members = (
      this.db
        .prepare(
          'SELECT u.* FROM users u JOIN project_members m ON m.user_id = u.id WHERE m.project_id = ? ORDER BY u.id',
        )
        .all(projectId) as UserRow[]
    ).map(toUser);
    return computeProjectStats(projectId, tasks, members, await this.listJudgments(projectId));
  }

  async exportComparisons(projectId: number, options: ExportOptions = {}): Promise<Comparison[]> {
    const p = requireProject(this.db, projectId);
    const rows = this.db
      .prepare(`
      SELECT j.*, u.name AS labeler_name, u.disabled AS labeler_disabled FROM judgments j
      JOIN tasks t ON t.id = j.task_id JOIN users u ON u.id = j.labeler_id
      WHERE t.project_id = ? ORDER BY j.id`)
      .all(projectId) as (JudgmentRow & { labeler_name: string; labeler_disabled: number })[];
    const tasks = new Map<number, Task>();
    const out: Comparison[] = [];
    for (const r of rows) {
      if (r.labeler_disabled && !options.includeDisabled) continue;
      if (r.status !== 'done' && !options.skipped) continue;
      let task = tasks.get(r.task_id);
      if (!task) {
        task = toTask(this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(r.task_id) as TaskRow);
        tasks.set(task.id, task);
      }
      const c = judgmentToComparison(task, toJudgment(r), r.labeler_name, p.name);
      if (c) out.push(c);
    }
    return out;
  }

  async exportVotes(projectId: number, options: ExportOptions = {}): Promise<TaskVotes[]> {
    requireProject(this.db, projectId);
    const tasks = (
      this.db
        .prepare("SELECT * FROM tasks WHERE project_id = ? AND kind <> 'pair' ORDER BY id")
        .all(projectId) as TaskRow[]
    ).map(toTask);
    const rows = this.db
      .prepare(`
      SELECT j.*, u.disabled AS labeler_disabled FROM judgments j
      JOIN tasks t ON t.id = j.task_id JOIN users u ON u.id = j.labeler_id
      WHERE t.project_id = ? AND t.kind <> 'pair' ORDER BY j.id`)
      .all(projectId) as (JudgmentRow & { labeler_disabled: number })[];
    const judgments = rows.map((r) => ({ judgment: toJudgment(r), labelerDisabled: r.labeler_disabled === 1 }));
    return tallyVotes(tasks, judgments, options);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
