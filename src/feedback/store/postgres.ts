// The feedback store on PostgreSQL (pg 8, a connection pool), for several server processes sharing one
// database. Same behaviour as the SQLite store; each write resolves only after its COMMIT returned.
// NOTE: nextTask and submitJudgment run in a transaction holding a per-project advisory lock
// (pg_advisory_xact_lock) taken before anything is read: counting a task's free places and taking one
// cannot interleave with another process doing the same. Row locks with SKIP LOCKED would let two
// labelers lease different tasks at once, but a place is a count over judgments and leases, not a row,
// so the count would still need rechecking under the lock; one lock per project is simpler, keeps
// "fullest task first" exact, and costs little (a lease transaction takes ~1 ms; labelers take ~30 s).

import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Comparison } from '../../data/comparison.js';
import { FieldError } from '../../data/field-error.js';
import { leaseMsOption, overFull } from './leases.js';
import { lockSpace, migratePostgres } from './postgres-migrations.js';
import { computeProjectStats } from './stats.js';
import { judgmentToComparison } from './to-comparison.js';
import { hashToken, newToken, shownOrder } from './tokens.js';
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
  type User,
} from './types.js';
import {
  checkJudgment,
  parseJudgmentShape,
  parseSettings,
  parseTask,
  requireId,
  requireName,
  requireRole,
  requireInt,
} from './validate.js';
import { pgLocation } from './pg-location.js';

export interface PostgresStoreOptions extends StoreOptions {
  /** The schema holding the tables (created if missing); also `?schema=` in the URL. Default: the role's search_path (usually public). */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

interface ProjectRow {
  id: number;
  name: string;
  settings: ProjectSettings;
  created_at: Date;
}
interface UserRow {
  id: number;
  name: string;
  role: Role;
  disabled: boolean;
  created_at: Date;
}
interface TaskRow {
  id: number;
  project_id: number;
  prompt: string;
  completions: string[];
  gold: number[] | null;
  meta: Record<string, unknown> | null;
  created_at: Date;
}
interface JudgmentRow {
  id: number;
  task_id: number;
  labeler_id: number;
  submission_id: string;
  status: Judgment['status'];
  choice: number | null;
  ranking: number[] | null;
  shown: number[];
  axes: Record<string, number> | null;
  feedback: string | null;
  created_at: Date;
}

// Explicit columns, never *, in prepared statements: a later migration adding a column must not change
// the result type of a plan cached by a running server ("cached plan must not change result type").
const P_COLS = 'id, name, settings, created_at';
const U_COLS = 'id, name, role, disabled, created_at';
const T_COLS = 't.id, t.project_id, t.prompt, t.completions, t.gold, t.meta, t.created_at';
const J_COLS = 'id, task_id, labeler_id, submission_id, status, choice, ranking, shown, axes, feedback, created_at';

const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  name: r.name,
  settings: r.settings,
  createdAt: r.created_at.toISOString(),
});
const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  role: r.role,
  disabled: r.disabled,
  createdAt: r.created_at.toISOString(),
});

function toTask(r: TaskRow): Task {
  const t: Task = {
    id: r.id,
    projectId: r.project_id,
    prompt: r.prompt,
    completions: r.completions,
    createdAt: r.created_at.toISOString(),
  };
  if (r.gold !== null) t.gold = r.gold;
  if (r.meta !== null) t.meta = r.meta;
  return t;
}

function toJudgment(r: JudgmentRow): Judgment {
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
  if (r.axes !== null) j.axes = r.axes;
  if (r.feedback !== null) j.feedback = r.feedback;
  return j;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
const pgCode = (e: unknown) => (e as { code?: string }).code;
const pgConstraint = (e: unknown) => (e as { constraint?: string }).constraint;

/** Places of task t taken: its done judgments (done_count), plus live leases of other enabled labelers. */
const taken = (
  labeler: string,
  now: string,
) => `(t.done_count + (SELECT count(*) FROM task_leases l JOIN users u ON u.id = l.labeler_id
  WHERE l.task_id = t.id AND l.labeler_id <> ${labeler} AND l.expires_at > ${now} AND NOT u.disabled))::int`;
const UNSEEN = 'NOT EXISTS (SELECT 1 FROM judgments j WHERE j.task_id = t.id AND j.labeler_id = $2)';
// $1 project, $2 labeler, $3 now, $4 overlap. Fullest first, then oldest: partly taken tasks (some
// done, or leased by others) are few and counted one by one; failing those, the oldest untouched
// task comes straight off the tasks_open index.
const PARTIAL = `SELECT * FROM (SELECT ${T_COLS}, ${taken('$2', '$3')} AS taken FROM tasks t WHERE t.id IN (
    SELECT id FROM tasks WHERE project_id = $1 AND gold IS NULL AND done_count > 0 AND done_count < $4
    UNION SELECT task_id FROM task_leases WHERE project_id = $1 AND labeler_id <> $2 AND expires_at > $3)
  AND t.gold IS NULL AND ${UNSEEN}) x WHERE taken < $4 ORDER BY taken DESC, id LIMIT 1`;
const FRESH = `SELECT ${T_COLS} FROM tasks t WHERE t.project_id = $1 AND t.gold IS NULL AND t.done_count = 0 AND ${UNSEEN}
  AND NOT EXISTS (SELECT 1 FROM task_leases l JOIN users u ON u.id = l.labeler_id
                  WHERE l.task_id = t.id AND l.labeler_id <> $2 AND l.expires_at > $3 AND NOT u.disabled)
  ORDER BY t.id LIMIT 1`;
const GOLD = `SELECT ${T_COLS} FROM tasks t WHERE t.project_id = $1 AND t.gold IS NOT NULL AND ${UNSEEN} ORDER BY t.id LIMIT 1`;

export class PostgresFeedbackStore implements FeedbackStore {
  private closed = false;

  private constructor(
    readonly pool: pg.Pool,
    /** The schema the tables are in. */
    readonly schema: string,
    private readonly locks: number,
    private readonly now: () => Date,
    private readonly leaseMs: number,
  ) {}

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
            `PostgreSQL at ${loc.display}: the role's search_path names no existing schema; create one or give ?schema=NAME`,
          );
        await migratePostgres(c, { schema, createSchema: loc.schema !== undefined });
        return new PostgresFeedbackStore(pool, schema, lockSpace(schema), options.now ?? (() => new Date()), leaseMs);
      } finally {
        c.release();
      }
    } catch (e) {
      await pool.end();
      throw e;
    }
  }

  /** Runs fn in a transaction holding the project's advisory lock (when given); commits before resolving. */
  private async tx<T>(projectLock: number | null, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    try {
      // Both are integers of ours, so BEGIN and the lock can go in one round trip (simple protocol).
      await c.query(
        projectLock === null ? 'BEGIN' : `BEGIN; SELECT pg_advisory_xact_lock(${this.locks | 0}, ${projectLock | 0})`,
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
  private async one<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[],
    c: pg.ClientBase | pg.Pool = this.pool,
  ): Promise<R | undefined> {
    const name = 'rlhf_' + createHash('sha1').update(sql).digest('hex').slice(0, 16);
    return (await c.query<R>({ name, text: sql, values: params })).rows[0];
  }

  // ---- projects ----

  async createProject(name: string, settings?: Partial<ProjectSettings>): Promise<Project> {
    const n = requireName(name, 'name');
    const s = parseSettings(settings);
    try {
      return toProject(
        (await this.one<ProjectRow>(
          `INSERT INTO projects (name, settings, created_at) VALUES ($1, $2, $3) RETURNING ${P_COLS}`,
          [n, JSON.stringify(s), this.now()],
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
    const r = await this.one<ProjectRow>(`SELECT ${P_COLS} FROM projects WHERE id = $1`, [requireId(id, 'projectId')]);
    return r ? toProject(r) : null;
  }

  private async project(id: number, c?: pg.ClientBase): Promise<Project> {
    const r = await this.one<ProjectRow>(
      `SELECT ${P_COLS} FROM projects WHERE id = $1`,
      [requireId(id, 'projectId')],
      c,
    );
    if (!r) throw new StoreError('not_found', `no project ${id}`);
    return toProject(r);
  }

  // ---- users ----

  async createUser(name: string, role: Role): Promise<{ user: User; token: string }> {
    const n = requireName(name, 'name');
    const ro = requireRole(role);
    const token = newToken();
    try {
      const r = await this.one<UserRow>(
        `INSERT INTO users (name, role, token_sha256, created_at) VALUES ($1, $2, $3, $4) RETURNING ${U_COLS}`,
        [n, ro, hashToken(token), this.now()],
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
    const r = await this.one<UserRow>(`SELECT ${U_COLS} FROM users WHERE token_sha256 = $1 AND NOT disabled`, [
      hashToken(token),
    ]);
    return r ? toUser(r) : null;
  }

  private async user(id: number, field = 'userId'): Promise<User> {
    const r = await this.one<UserRow>(`SELECT ${U_COLS} FROM users WHERE id = $1`, [requireId(id, field)]);
    if (!r) throw new StoreError('not_found', `no user ${id}`);
    return toUser(r);
  }

  async disableUser(userId: number): Promise<User> {
    return this.setDisabled(userId, true);
  }

  async enableUser(userId: number): Promise<User> {
    return this.setDisabled(userId, false);
  }

  private async setDisabled(userId: number, disabled: boolean): Promise<User> {
    await this.user(userId);
    // A disabled labeler's done judgments and leases free their places at once; enabled again, the
    // judgments count again. The projects involved are locked in ascending order (no deadlock with
    // nextTask or a submission, which lock one).
    return this.tx(null, async (c) => {
      const projects = (
        await c.query<{ id: number }>(
          `SELECT project_id AS id FROM project_members WHERE user_id = $1
        UNION SELECT t.project_id FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE j.labeler_id = $1 ORDER BY id`,
          [userId],
        )
      ).rows;
      for (const { id } of projects) await c.query('SELECT pg_advisory_xact_lock($1, $2)', [this.locks, id]);
      const r = await this.one<UserRow>(
        `UPDATE users SET disabled = $2 WHERE id = $1 RETURNING ${U_COLS}`,
        [userId, disabled],
        c,
      );
      await c.query(
        `UPDATE tasks t SET done_count = (SELECT count(*) FROM judgments j JOIN users u ON u.id = j.labeler_id
        WHERE j.task_id = t.id AND j.status = 'done' AND NOT u.disabled) WHERE t.id IN (SELECT task_id FROM judgments WHERE labeler_id = $1)`,
        [userId],
      );
      if (disabled) await c.query('DELETE FROM task_leases WHERE labeler_id = $1', [userId]);
      return toUser(r!);
    });
  }

  async reissueToken(userId: number): Promise<{ user: User; token: string }> {
    await this.user(userId);
    const token = newToken();
    const r = await this.one<UserRow>(`UPDATE users SET token_sha256 = $2 WHERE id = $1 RETURNING ${U_COLS}`, [
      userId,
      hashToken(token),
    ]);
    return { user: toUser(r!), token };
  }

  async addMember(projectId: number, userId: number): Promise<void> {
    await this.project(projectId);
    await this.user(userId);
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

  /** An enabled member of the project, or StoreError forbidden. */
  private async labeler(projectId: number, labelerId: number): Promise<User> {
    const u = await this.user(labelerId, 'labelerId');
    if (u.disabled) throw new StoreError('forbidden', `user ${u.name} is disabled`);
    if (
      !(await this.one('SELECT 1 AS member FROM project_members WHERE project_id = $1 AND user_id = $2', [
        projectId,
        labelerId,
      ]))
    ) {
      throw new StoreError('forbidden', `user ${u.name} is not a member of project ${projectId}`);
    }
    return u;
  }

  // ---- tasks and leases ----

  async addTasks(projectId: number, tasks: TaskInput[]): Promise<number[]> {
    await this.project(projectId);
    if (!Array.isArray(tasks)) throw new FieldError('tasks', 'must be an array of tasks');
    const parsed = tasks.map((t, i) => parseTask(t, `tasks[${i}]`));
    if (parsed.length === 0) return [];
    // Ids are drawn first so they follow the input order (RETURNING's row order is not guaranteed);
    // the one INSERT then adds all tasks or none.
    const ids = (
      await this.pool.query<{ id: number }>(
        "SELECT nextval(pg_get_serial_sequence('tasks', 'id'))::int AS id FROM generate_series(1, $1)",
        [parsed.length],
      )
    ).rows
      .map((r) => r.id)
      .sort((a, b) => a - b);
    await this.pool.query(
      `INSERT INTO tasks (id, project_id, prompt, completions, gold, meta, created_at)
      SELECT u.id, $1, u.prompt, u.completions, u.gold, u.meta, $2 FROM unnest($3::int[], $4::text[], $5::json[], $6::json[], $7::json[]) AS u(id, prompt, completions, gold, meta)`,
      [
        projectId,
        this.now(),
        ids,
        parsed.map((t) => t.prompt),
        parsed.map((t) => JSON.stringify(t.completions)),
        parsed.map((t) => json(t.gold)),
        parsed.map((t) => json(t.meta)),
      ],
    );
    return ids;
  }

  async getTask(id: number): Promise<Task | null> {
    const r = await this.one<TaskRow>(`SELECT ${T_COLS} FROM tasks t WHERE t.id = $1`, [requireId(id, 'taskId')]);
    return r ? toTask(r) : null;
  }

  async nextTask(projectId: number, labelerId: number): Promise<Assignment | null> {
    const p = await this.project(projectId);
    await this.labeler(projectId, labelerId);
    return this.tx(p.id, (c) => this.assign(c, p, labelerId));
  }

  /** Under the project lock: the labeler's held task if its place is still theirs, else a new one; leases it. */
  private async assign(c: pg.PoolClient, p: Project, labelerId: number): Promise<Assignment | null> {
    const t0 = this.now();
    const args = [p.id, labelerId, t0];
    const held = await this.one<TaskRow & { taken: number }>(
      `SELECT ${T_COLS}, ${taken('$2', '$3')} AS taken FROM task_leases l JOIN tasks t ON t.id = l.task_id
      WHERE l.project_id = $1 AND l.labeler_id = $2 AND ${UNSEEN}`,
      args,
      c,
    );
    let row: TaskRow | undefined = held && (held.gold !== null || held.taken < p.settings.overlap) ? held : undefined;
    if (!row) {
      const all = [...args, p.settings.overlap];
      const regular = async () =>
        (await this.one<TaskRow>(PARTIAL, all, c)) ?? (await this.one<TaskRow>(FRESH, args, c));
      const gold = () => this.one<TaskRow>(GOLD, [p.id, labelerId], c);
      const seen = async () =>
        (await this.one<{ n: number }>(
          'SELECT count(*)::int AS n FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = $1 AND j.labeler_id = $2',
          [p.id, labelerId],
          c,
        ))!.n;
      const goldTurn = p.settings.goldEvery > 0 && ((await seen()) + 1) % p.settings.goldEvery === 0;
      row = goldTurn ? ((await gold()) ?? (await regular())) : await regular();
    }
    if (!row) {
      await this.one('DELETE FROM task_leases WHERE project_id = $1 AND labeler_id = $2', [p.id, labelerId], c);
      return null;
    }
    const until = new Date(t0.getTime() + this.leaseMs);
    await this.one(
      `INSERT INTO task_leases (project_id, labeler_id, task_id, expires_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT (project_id, labeler_id) DO UPDATE SET task_id = excluded.task_id, expires_at = excluded.expires_at`,
      [p.id, labelerId, row.id, until],
      c,
    );
    const t = toTask(row);
    return {
      taskId: t.id,
      projectId: p.id,
      prompt: t.prompt,
      completions: t.completions,
      shown: shownOrder(t.id, labelerId, t.completions.length),
      leaseExpiresAt: until.toISOString(),
    };
  }

  // ---- judgments ----

  async submitJudgment(raw: JudgmentInput): Promise<SubmitResult> {
    const input = parseJudgmentShape(raw);
    const bySubmission = async (c: pg.ClientBase | pg.Pool) =>
      this.one<JudgmentRow>(
        `SELECT ${J_COLS} FROM judgments WHERE labeler_id = $1 AND submission_id = $2`,
        [input.labelerId, input.submissionId],
        c,
      );
    const retried = (first: JudgmentRow): SubmitResult => {
      if (first.task_id !== input.taskId) {
        throw new StoreError(
          'conflict',
          `submissionId "${input.submissionId}" was already used for task ${first.task_id}; generate a new id per submission`,
        );
      }
      return { judgment: toJudgment(first), created: false };
    };
    // A retry is answered with the first judgment before the body is checked again (it may differ).
    const first = await bySubmission(this.pool);
    if (first) return retried(first);
    const tr = await this.one<TaskRow>(`SELECT ${T_COLS} FROM tasks t WHERE t.id = $1`, [input.taskId]);
    if (!tr) throw new StoreError('not_found', `no task ${input.taskId}`);
    const task = toTask(tr);
    const p = await this.project(task.projectId);
    await this.labeler(p.id, input.labelerId);
    checkJudgment(input, task.completions.length, p.settings.axes);
    try {
      return await this.tx(p.id, async (c) => {
        const t0 = this.now();
        // The unique (labeler, submission) constraint decides who stored a submission, also between
        // projects (whose locks differ): a concurrent retry finds the row and answers with it.
        const r = await this.one<JudgmentRow>(
          `INSERT INTO judgments (task_id, labeler_id, submission_id, status, choice, ranking, shown, axes, feedback, created_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (labeler_id, submission_id) DO NOTHING RETURNING ${J_COLS}`,
          [
            input.taskId,
            input.labelerId,
            input.submissionId,
            input.status ?? 'done',
            input.choice ?? null,
            json(input.ranking),
            JSON.stringify(input.shown),
            json(input.axes),
            input.feedback ?? null,
            t0,
          ],
          c,
        );
        if (!r) return retried((await bySubmission(c))!);
        // NOTE: checked again under the lock: a labeler disabled while this was in flight adds no count.
        if (r.status === 'done') {
          await this.one(
            'UPDATE tasks SET done_count = done_count + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM users WHERE id = $2 AND NOT disabled)',
            [task.id, input.labelerId],
            c,
          );
        }
        if (r.status === 'done' && task.gold === undefined) {
          const { n } = (await this.one<{ n: number }>(
            `SELECT ${taken('$2', '$3')} AS n FROM tasks t WHERE t.id = $1`,
            [task.id, input.labelerId, t0],
            c,
          ))!;
          if (n > p.settings.overlap) throw overFull(task.id, p.settings.overlap, this.leaseMs); // rolls the insert back
        }
        await this.one(
          'DELETE FROM task_leases WHERE project_id = $1 AND labeler_id = $2 AND task_id = $3',
          [p.id, input.labelerId, task.id],
          c,
        );
        return { judgment: toJudgment(r), created: true };
      });
    } catch (e) {
      if (pgCode(e) === '23505' && pgConstraint(e) === 'judgments_task_labeler') {
        const other = await this.one<{ submission_id: string }>(
          'SELECT submission_id FROM judgments WHERE task_id = $1 AND labeler_id = $2',
          [input.taskId, input.labelerId],
        );
        throw new StoreError(
          'conflict',
          `task ${input.taskId} was already judged by this labeler (submission "${other?.submission_id ?? '?'}")`,
        );
      }
      throw e;
    }
  }

  async listJudgments(projectId: number): Promise<Judgment[]> {
    await this.project(projectId);
    return (
      await this.pool.query<JudgmentRow>(
        'SELECT j.* FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = $1 ORDER BY j.id',
        [projectId],
      )
    ).rows.map(toJudgment);
  }

  // ---- stats and export ----

  async projectStats(projectId: number): Promise<ProjectStats> {
    await this.project(projectId);
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
    const p = await this.project(projectId);
    // One snapshot for both reads, so a judgment never arrives without its task.
    return this.tx(null, async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const tasks = new Map(
        (await c.query<TaskRow>('SELECT * FROM tasks WHERE project_id = $1', [projectId])).rows.map((r) => [
          r.id,
          toTask(r),
        ]),
      );
      const rows = (
        await c.query<JudgmentRow & { labeler_name: string; labeler_disabled: boolean }>(
          `
        SELECT j.*, u.name AS labeler_name, u.disabled AS labeler_disabled FROM judgments j
        JOIN tasks t ON t.id = j.task_id JOIN users u ON u.id = j.labeler_id
        WHERE t.project_id = $1 ORDER BY j.id`,
          [projectId],
        )
      ).rows;
      const out: Comparison[] = [];
      for (const r of rows) {
        if (r.labeler_disabled && !options.includeDisabled) continue;
        if (r.status !== 'done' && !options.skipped) continue;
        const c = judgmentToComparison(tasks.get(r.task_id)!, toJudgment(r), r.labeler_name, p.name);
        if (c) out.push(c);
      }
      return out;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
