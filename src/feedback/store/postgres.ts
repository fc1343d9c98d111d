// The feedback store on PostgreSQL (pg 8, a connection pool), for several server processes sharing one
// database. Same behaviour as the SQLite store; each write resolves only after its COMMIT returned.
// NOTE: nextTask and submitJudgment run in a transaction holding a per-project advisory lock
// (pg_advisory_xact_lock) taken before anything is read: counting a task's free places and taking one
// cannot interleave with another process doing the same. Row locks with SKIP LOCKED would let two
// labelers lease different tasks at once, but a place is a count over judgments and leases, not a row,
// so the count would still need rechecking under the lock; one lock per project is simpler, keeps
// "fullest task first" exact, and costs little (a lease transaction takes ~1 ms; labelers take ~30 s).
// Rows, queries and lookups are in postgres-rows.ts; leasing a task and storing a judgment in
// postgres-labeling.ts.

import pg from 'pg';
import type { Comparison } from '../../data/comparison.js';
import { leaseMsOption } from './leases.js';
import { pgLocation } from './pg-location.js';
import * as labeling from './postgres-labeling.js';
import { lockSpace, migratePostgres } from './postgres-migrations.js';
import {
  type JudgmentRow,
  type PgContext,
  type ProjectRow,
  type TaskRow,
  type UserRow,
  P_COLS,
  T_COLS,
  U_COLS,
  json,
  one,
  pgCode,
  requireProject,
  requireUser,
  toJudgment,
  toProject,
  toTask,
  toUser,
  tx,
} from './postgres-rows.js';
import { computeProjectStats } from './stats.js';
import { chunksOf, parseTasks } from './task-chunks.js';
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

export interface PostgresStoreOptions extends StoreOptions {
  /**
   * The schema holding the tables (created if missing); also `?schema=` in the URL. Default: the role's search_path
   * (usually public).
   */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

export class PostgresFeedbackStore implements FeedbackStore {
  private closed = false;

  readonly pool: pg.Pool;

  private constructor(
    /** The pool, lock space, clock and lease length, for the parts in postgres-labeling.ts. */
    private readonly cx: PgContext,
    /** The schema the tables are in. */
    readonly schema: string,
  ) {
    this.pool = cx.pool;
  }

  /** Connects to `url` (postgres://… or postgresql://…), migrates the schema, and returns the store. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresFeedbackStore> {
    const leaseMs = leaseMsOption(options.leaseMs);
    const max = options.poolSize === undefined ? 10 : requireInt(options.poolSize, 'poolSize', 1, 1000);
    const loc = pgLocation(url, options.schema);
    const pool = new pg.Pool({
      connectionString: loc.connectionString,
      max,
      ...(loc.schema ? { options: `-c search_path=${loc.schema}` } : {}),
    });
    // An idle connection that breaks (server restart) is dropped by the pool; the next query opens a new one.
    pool.on('error', (e) =>
      process.stderr.write(
        `rlhf: an idle PostgreSQL connection to ${loc.display} failed (${e.message}); it will be replaced\n`,
      ),
    );
    try {
      const c = await pool.connect().catch((e: Error) => {
        throw new Error(`cannot connect to PostgreSQL at ${loc.display}: ${e.message}`);
      });
      try {
        const schema = loc.schema ?? (await c.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0].s;
        if (!schema)
          throw new Error(
            `PostgreSQL at ${loc.display}: the role's search_path names no existing schema; create one or give ` +
              `?schema=NAME`,
          );
        await migratePostgres(c, { schema, createSchema: loc.schema !== undefined });
        return new PostgresFeedbackStore(
          { pool, locks: lockSpace(schema), now: options.now ?? (() => new Date()), leaseMs },
          schema,
        );
      } finally {
        c.release();
      }
    } catch (e) {
      await pool.end();
      throw e;
    }
  }

  // ---- projects ----

  async createProject(name: string, settings?: Partial<ProjectSettings>): Promise<Project> {
    const n = requireName(name, 'name');
    const s = parseSettings(settings);
    try {
      return toProject(
        (await one<ProjectRow>(
          `INSERT INTO projects (name, settings, created_at) VALUES ($1, $2, $3) RETURNING ${P_COLS}`,
          [n, JSON.stringify(s), this.cx.now()],
          this.pool,
        ))!,
      );
    } catch (e) {
      if (pgCode(e) === '23505') throw new StoreError('conflict', `a project named "${n}" exists already`);
      throw e;
    }
  }

  async listProjects(): Promise<Project[]> {
    return (await this.pool.query<ProjectRow>('SELECT * FROM projects ORDER BY id')).rows.map(toProject);
  }

  async getProject(id: number): Promise<Project | null> {
    const r = await one<ProjectRow>(
      `SELECT ${P_COLS} FROM projects WHERE id = $1`,
      [requireId(id, 'projectId')],
      this.pool,
    );
    return r ? toProject(r) : null;
  }

  // ---- users ----

  async createUser(name: string, role: Role): Promise<{ user: User; token: string }> {
    const n = requireName(name, 'name');
    const ro = requireRole(role);
    const token = newToken();
    try {
      const r = await one<UserRow>(
        `INSERT INTO users (name, role, token_sha256, created_at) VALUES ($1, $2, $3, $4) RETURNING ${U_COLS}`,
        [n, ro, hashToken(token), this.cx.now()],
        this.pool,
      );
      return { user: toUser(r!), token };
    } catch (e) {
      if (pgCode(e) === '23505') throw new StoreError('conflict', `a user named "${n}" exists already`);
      throw e;
    }
  }

  async listUsers(): Promise<User[]> {
    return (await this.pool.query<UserRow>('SELECT * FROM users ORDER BY id')).rows.map(toUser);
  }

  async authenticate(token: string): Promise<User | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 200) return null;
    const r = await one<UserRow>(
      `SELECT ${U_COLS} FROM users WHERE token_sha256 = $1 AND NOT disabled`,
      [hashToken(token)],
      this.pool,
    );
    return r ? toUser(r) : null;
  }

  async disableUser(userId: number): Promise<User> {
    return this.setDisabled(userId, true);
  }

  async enableUser(userId: number): Promise<User> {
    return this.setDisabled(userId, false);
  }

  private async setDisabled(userId: number, disabled: boolean): Promise<User> {
    await requireUser(this.pool, userId);
    // A disabled labeler's done judgments and leases free their places at once; enabled again, the
    // judgments count again. The projects involved are locked in ascending order (no deadlock with
    // nextTask or a submission, which lock one).
    return tx(this.cx, null, async (c) => {
      const projects = (
        await c.query<{ id: number }>(
          `SELECT project_id AS id FROM project_members WHERE user_id = $1
        UNION SELECT t.project_id FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE j.labeler_id ` +
            `= $1 ORDER BY id`,
          [userId],
        )
      ).rows;
      for (const { id } of projects) await c.query('SELECT pg_advisory_xact_lock($1, $2)', [this.cx.locks, id]);
      const r = await one<UserRow>(
        `UPDATE users SET disabled = $2 WHERE id = $1 RETURNING ${U_COLS}`,
        [userId, disabled],
        c,
      );
      await c.query(
        `UPDATE tasks t SET done_count = (SELECT count(*) FROM judgments j JOIN users u ON u.id = j.labeler_id
        WHERE j.task_id = t.id AND j.status = 'done' AND NOT u.disabled) WHERE t.id IN (SELECT task_id ` +
          `FROM judgments WHERE labeler_id = $1)`,
        [userId],
      );
      if (disabled) await c.query('DELETE FROM task_leases WHERE labeler_id = $1', [userId]);
      return toUser(r!);
    });
  }

  async reissueToken(userId: number): Promise<{ user: User; token: string }> {
    await requireUser(this.pool, userId);
    const token = newToken();
    const r = await one<UserRow>(
      `UPDATE users SET token_sha256 = $2 WHERE id = $1 RETURNING ${U_COLS}`,
      [userId, hashToken(token)],
      this.pool,
    );
    return { user: toUser(r!), token };
  }

  async addMember(projectId: number, userId: number): Promise<void> {
    await requireProject(this.pool, projectId);
    await requireUser(this.pool, userId);
    await this.pool.query('INSERT INTO project_members (project_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
      projectId,
      userId,
    ]);
  }

  async isMember(projectId: number, userId: number): Promise<boolean> {
    const r = await this.pool.query('SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2', [
      requireId(projectId, 'projectId'),
      requireId(userId, 'userId'),
    ]);
    return r.rowCount === 1;
  }

  // ---- tasks and leases ----

  /** Checks every task, then stores them in chunks inside one transaction (all or none). */
  async addTasks(projectId: number, tasks: TaskInput[]): Promise<number[]> {
    await requireProject(this.pool, projectId);
    const parsed = await parseTasks(tasks);
    if (parsed.length === 0) return [];
    return tx(this.cx, null, async (c) => {
      // Ids are drawn first so they follow the input order (RETURNING's row order is not guaranteed).
      const ids = (
        await c.query<{ id: number }>(
          "SELECT nextval(pg_get_serial_sequence('tasks', 'id'))::int AS id FROM generate_series(1, $1)",
          [parsed.length],
        )
      ).rows
        .map((r) => r.id)
        .sort((a, b) => a - b);
      const time = this.cx.now();
      let done = 0;
      for (const chunk of chunksOf(parsed)) {
        await c.query(
          `INSERT INTO tasks (id, project_id, kind, prompt, completions, gold, meta, created_at)
          SELECT u.id, $1, u.kind, u.prompt, u.completions, u.gold, u.meta, $2 FROM unnest($3::int[], ` +
            `$8::text[], $4::text[], $5::json[], $6::json[], $7::json[]) ` +
            'AS u(id, kind, prompt, completions, gold, meta)',
          [
            projectId,
            time,
            ids.slice(done, done + chunk.length),
            chunk.map((t) => t.prompt),
            chunk.map((t) => JSON.stringify(t.completions)),
            chunk.map((t) => json(t.gold)),
            chunk.map((t) => json(t.meta)),
            chunk.map((t) => t.kind ?? 'pair'),
          ],
        );
        done += chunk.length;
      }
      return ids;
    });
  }

  async getTask(id: number): Promise<Task | null> {
    const r = await one<TaskRow>(`SELECT ${T_COLS} FROM tasks t WHERE t.id = $1`, [requireId(id, 'taskId')], this.pool);
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
    await requireProject(this.pool, projectId);
    return (
      await this.pool.query<JudgmentRow>(
        'SELECT j.* FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = $1 ORDER BY j.id',
        [projectId],
      )
    ).rows.map(toJudgment);
  }

  // ---- stats and export ----

  async projectStats(projectId: number): Promise<ProjectStats> {
    await requireProject(this.pool, projectId);
    const tasks = (
      await this.pool.query<TaskRow>('SELECT * FROM tasks WHERE project_id = $1 ORDER BY id', [projectId])
    ).rows.map(toTask);
    const members = (
      await this.pool.query<UserRow>(
        'SELECT u.* FROM users u JOIN project_members m ON m.user_id = u.id WHERE m.project_id = $1 ORDER BY u.id',
        [projectId],
      )
    ).rows.map(toUser);
    return computeProjectStats(projectId, tasks, members, await this.listJudgments(projectId));
  }

  async exportComparisons(projectId: number, options: ExportOptions = {}): Promise<Comparison[]> {
    const p = await requireProject(this.pool, projectId);
    const { tasks, rows } = await this.snapshot(projectId, 'pair');
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const out: Comparison[] = [];
    for (const r of rows) {
      if (r.labeler_disabled && !options.includeDisabled) continue;
      if (r.status !== 'done' && !options.skipped) continue;
      const c = judgmentToComparison(byId.get(r.task_id)!, toJudgment(r), r.labeler_name, p.name);
      if (c) out.push(c);
    }
    return out;
  }

  async exportVotes(projectId: number, options: ExportOptions = {}): Promise<TaskVotes[]> {
    await requireProject(this.pool, projectId);
    const { tasks, rows } = await this.snapshot(projectId, 'single');
    const judgments = rows.map((r) => ({ judgment: toJudgment(r), labelerDisabled: r.labeler_disabled }));
    return tallyVotes(tasks, judgments, options);
  }

  /**
   * A project's tasks of pair or single-output kinds and their judgments (with the labeler's name and
   * status), in one snapshot, so a judgment never arrives without its task.
   */
  private snapshot(projectId: number, kinds: 'pair' | 'single') {
    const kind = kinds === 'pair' ? "t.kind = 'pair'" : "t.kind <> 'pair'";
    return tx(this.cx, null, async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const tasks = await c.query<TaskRow>(`SELECT * FROM tasks t WHERE project_id = $1 AND ${kind} ORDER BY id`, [
        projectId,
      ]);
      const rows = await c.query<JudgmentRow & { labeler_name: string; labeler_disabled: boolean }>(
        `SELECT j.*, u.name AS labeler_name, u.disabled AS labeler_disabled FROM judgments j
        JOIN tasks t ON t.id = j.task_id JOIN users u ON u.id = j.labeler_id
        WHERE t.project_id = $1 AND ${kind} ORDER BY j.id`,
        [projectId],
      );
      return { tasks: tasks.rows.map(toTask), rows: rows.rows };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
