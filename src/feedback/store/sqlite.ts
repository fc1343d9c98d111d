// The feedback store on an embedded SQLite file (better-sqlite3): WAL journal, foreign keys on, a busy
// timeout so several connections (or processes) can share the file. Every write is one immediate
// transaction, committed (and, with synchronous FULL, fsynced) before the promise resolves.
// NOTE: BEGIN IMMEDIATE takes the file's write lock before the first read, so a transaction that
// counts a task's free places and then takes one cannot interleave with another process doing the same.

import Database from 'better-sqlite3';
import type { Comparison } from '../../data/comparison.js';
import { FieldError } from '../../data/field-error.js';
import { leaseMsOption, overFull } from './leases.js';
import { migrate } from './migrations.js';
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
} from './validate.js';

export { hashToken, shownOrder } from './tokens.js';

export interface SqliteStoreOptions extends StoreOptions {
  /** How long a connection waits for another's write lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
  /** FULL (default) fsyncs every commit: survives power loss; NORMAL survives a killed process only. */
  synchronous?: 'FULL' | 'NORMAL';
}

interface ProjectRow {
  id: number;
  name: string;
  settings: string;
  created_at: string;
}
interface UserRow {
  id: number;
  name: string;
  role: Role;
  disabled: number;
  created_at: string;
}
interface TaskRow {
  id: number;
  project_id: number;
  prompt: string;
  completions: string;
  gold: string | null;
  meta: string | null;
  created_at: string;
}
interface JudgmentRow {
  id: number;
  task_id: number;
  labeler_id: number;
  submission_id: string;
  status: Judgment['status'];
  choice: number | null;
  ranking: string | null;
  shown: string;
  axes: string | null;
  feedback: string | null;
  created_at: string;
}

const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  name: r.name,
  settings: JSON.parse(r.settings) as ProjectSettings,
  createdAt: r.created_at,
});
const toUser = (r: UserRow): User => ({
  id: r.id,
  name: r.name,
  role: r.role,
  disabled: r.disabled === 1,
  createdAt: r.created_at,
});

function toTask(r: TaskRow): Task {
  const t: Task = {
    id: r.id,
    projectId: r.project_id,
    prompt: r.prompt,
    completions: JSON.parse(r.completions) as string[],
    createdAt: r.created_at,
  };
  if (r.gold !== null) t.gold = JSON.parse(r.gold) as number[];
  if (r.meta !== null) t.meta = JSON.parse(r.meta) as Record<string, unknown>;
  return t;
}

function toJudgment(r: JudgmentRow): Judgment {
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
  if (r.axes !== null) j.axes = JSON.parse(r.axes) as Record<string, number>;
  if (r.feedback !== null) j.feedback = r.feedback;
  return j;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
const isUnique = (e: unknown) => (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

// Places of task t taken: its done judgments (done_count: enabled labelers only), plus live leases of
// other enabled labelers. NOTE: a skip, a flag or a disabled labeler's work leaves the place open.
const TAKEN = `(t.done_count + (SELECT count(*) FROM task_leases l JOIN users u ON u.id = l.labeler_id
  WHERE l.task_id = t.id AND l.labeler_id <> @labeler AND l.expires_at > @now AND u.disabled = 0))`;
const UNSEEN = 'NOT EXISTS (SELECT 1 FROM judgments j WHERE j.task_id = t.id AND j.labeler_id = @labeler)';
// Fullest first, then oldest. Partly taken tasks (some done, or leased by others) are few and are
// counted one by one; failing those, the oldest untouched task comes straight off the tasks_open index.
const PARTIAL = `SELECT * FROM (SELECT t.*, ${TAKEN} AS taken FROM tasks t WHERE t.id IN (
    SELECT id FROM tasks WHERE project_id = @project AND gold IS NULL AND done_count > 0 AND done_count < @overlap
    UNION SELECT task_id FROM task_leases WHERE project_id = @project AND labeler_id <> @labeler AND expires_at > @now)
  AND t.gold IS NULL AND ${UNSEEN}) WHERE taken < @overlap ORDER BY taken DESC, id LIMIT 1`;
const FRESH = `SELECT t.* FROM tasks t WHERE t.project_id = @project AND t.gold IS NULL AND t.done_count = 0 AND ${UNSEEN}
  AND NOT EXISTS (SELECT 1 FROM task_leases l JOIN users u ON u.id = l.labeler_id
                  WHERE l.task_id = t.id AND l.labeler_id <> @labeler AND l.expires_at > @now AND u.disabled = 0)
  ORDER BY t.id LIMIT 1`;
/** Recounts done_count of the tasks a user judged (after disabling or enabling them). */
const RECOUNT = `UPDATE tasks SET done_count = (SELECT count(*) FROM judgments j JOIN users u ON u.id = j.labeler_id
  WHERE j.task_id = tasks.id AND j.status = 'done' AND u.disabled = 0) WHERE id IN (SELECT task_id FROM judgments WHERE labeler_id = ?)`;

export class SqliteFeedbackStore implements FeedbackStore {
  readonly db: Database.Database;
  private readonly now: () => Date;
  private readonly leaseMs: number;

  /** Opens (creating if needed) the store at `path` (`:memory:` for tests) and migrates it. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.leaseMs = leaseMsOption(options.leaseMs);
    this.now = options.now ?? (() => new Date());
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
      this.db.pragma('foreign_keys = ON');
      migrate(this.db);
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  private time(): string {
    return this.now().toISOString();
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

  private project(id: number): Project {
    const r = this.db.prepare('SELECT * FROM projects WHERE id = ?').get(requireId(id, 'projectId')) as
      | ProjectRow
      | undefined;
    if (!r) throw new StoreError('not_found', `no project ${id}`);
    return toProject(r);
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

  private user(id: number, field = 'userId'): User {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(requireId(id, field)) as UserRow | undefined;
    if (!r) throw new StoreError('not_found', `no user ${id}`);
    return toUser(r);
  }

  async disableUser(userId: number): Promise<User> {
    return this.setDisabled(userId, true);
  }

  async enableUser(userId: number): Promise<User> {
    return this.setDisabled(userId, false);
  }

  private setDisabled(userId: number, disabled: boolean): User {
    this.user(userId);
    // A disabled labeler's done judgments and leases free their places at once; enabled again, the
    // judgments count again.
    this.db
      .transaction(() => {
        this.db.prepare('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, userId);
        this.db.prepare(RECOUNT).run(userId);
        if (disabled) this.db.prepare('DELETE FROM task_leases WHERE labeler_id = ?').run(userId);
      })
      .immediate();
    return this.user(userId);
  }

  async reissueToken(userId: number): Promise<{ user: User; token: string }> {
    this.user(userId);
    const token = newToken();
    this.db.prepare('UPDATE users SET token_sha256 = ? WHERE id = ?').run(hashToken(token), userId);
    return { user: this.user(userId), token };
  }

  async addMember(projectId: number, userId: number): Promise<void> {
    this.project(projectId);
    this.user(userId);
    this.db.prepare('INSERT OR IGNORE INTO project_members (project_id, user_id) VALUES (?, ?)').run(projectId, userId);
  }

  async isMember(projectId: number, userId: number): Promise<boolean> {
    return !!this.db
      .prepare('SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ?')
      .get(requireId(projectId, 'projectId'), requireId(userId, 'userId'));
  }

  /** An enabled member of the project, or StoreError forbidden. */
  private labeler(projectId: number, labelerId: number): User {
    const u = this.user(labelerId, 'labelerId');
    if (u.disabled) throw new StoreError('forbidden', `user ${u.name} is disabled`);
    if (
      !this.db.prepare('SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ?').get(projectId, labelerId)
    ) {
      throw new StoreError('forbidden', `user ${u.name} is not a member of project ${projectId}`);
    }
    return u;
  }

  // ---- tasks and leases ----

  async addTasks(projectId: number, tasks: TaskInput[]): Promise<number[]> {
    this.project(projectId);
    if (!Array.isArray(tasks)) throw new FieldError('tasks', 'must be an array of tasks');
    const parsed = tasks.map((t, i) => parseTask(t, `tasks[${i}]`));
    const insert = this.db.prepare(
      'INSERT INTO tasks (project_id, prompt, completions, gold, meta, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const time = this.time();
    return this.db
      .transaction(() =>
        parsed.map((t) =>
          Number(
            insert.run(projectId, t.prompt, JSON.stringify(t.completions), json(t.gold), json(t.meta), time)
              .lastInsertRowid,
          ),
        ),
      )
      .immediate();
  }

  async getTask(id: number): Promise<Task | null> {
    const r = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(requireId(id, 'taskId')) as TaskRow | undefined;
    return r ? toTask(r) : null;
  }

  async nextTask(projectId: number, labelerId: number): Promise<Assignment | null> {
    const p = this.project(projectId);
    this.labeler(projectId, labelerId);
    return this.db.transaction(() => this.assign(p, labelerId)).immediate();
  }

  /** Inside the write lock: the labeler's held task if its place is still theirs, else a new one; leases it. */
  private assign(p: Project, labelerId: number): Assignment | null {
    const t0 = this.now();
    const args = { project: p.id, labeler: labelerId, now: t0.toISOString(), overlap: p.settings.overlap };
    const held = this.db
      .prepare(`SELECT t.*, ${TAKEN} AS taken FROM task_leases l JOIN tasks t ON t.id = l.task_id
      WHERE l.project_id = @project AND l.labeler_id = @labeler AND ${UNSEEN}`)
      .get(args) as (TaskRow & { taken: number }) | undefined;
    let row: TaskRow | undefined = held && (held.gold !== null || held.taken < p.settings.overlap) ? held : undefined;
    if (!row) {
      const regular = () =>
        (this.db.prepare(PARTIAL).get(args) ?? this.db.prepare(FRESH).get(args)) as TaskRow | undefined;
      const gold = () =>
        this.db
          .prepare(
            `SELECT t.* FROM tasks t WHERE t.project_id = @project AND t.gold IS NOT NULL AND ${UNSEEN} ORDER BY t.id LIMIT 1`,
          )
          .get(args) as TaskRow | undefined;
      const seen = () =>
        (
          this.db
            .prepare(
              'SELECT count(*) AS n FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = ? AND j.labeler_id = ?',
            )
            .get(p.id, labelerId) as { n: number }
        ).n;
      const goldTurn = p.settings.goldEvery > 0 && (seen() + 1) % p.settings.goldEvery === 0;
      row = goldTurn ? (gold() ?? regular()) : regular();
    }
    if (!row) {
      this.db.prepare('DELETE FROM task_leases WHERE project_id = ? AND labeler_id = ?').run(p.id, labelerId);
      return null;
    }
    const until = new Date(t0.getTime() + this.leaseMs).toISOString();
    this.db
      .prepare(`INSERT INTO task_leases (project_id, labeler_id, task_id, expires_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (project_id, labeler_id) DO UPDATE SET task_id = excluded.task_id, expires_at = excluded.expires_at`)
      .run(p.id, labelerId, row.id, until);
    const t = toTask(row);
    return {
      taskId: t.id,
      projectId: p.id,
      prompt: t.prompt,
      completions: t.completions,
      shown: shownOrder(t.id, labelerId, t.completions.length),
      leaseExpiresAt: until,
    };
  }

  // ---- judgments ----

  async submitJudgment(raw: JudgmentInput): Promise<SubmitResult> {
    const input = parseJudgmentShape(raw);
    const byId = this.db.prepare('SELECT * FROM judgments WHERE labeler_id = ? AND submission_id = ?');
    const retried = (first: JudgmentRow): SubmitResult => {
      if (first.task_id !== input.taskId) {
        throw new StoreError(
          'conflict',
          `submissionId "${input.submissionId}" was already used for task ${first.task_id}; generate a new id per submission`,
        );
      }
      return { judgment: toJudgment(first), created: false };
    };
    const run = this.db.transaction((): SubmitResult => {
      // A retry is answered with the first judgment before the body is checked again (it may differ).
      const first = byId.get(input.labelerId, input.submissionId) as JudgmentRow | undefined;
      if (first) return retried(first);
      const tr = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(input.taskId) as TaskRow | undefined;
      if (!tr) throw new StoreError('not_found', `no task ${input.taskId}`);
      const task = toTask(tr);
      const p = this.project(task.projectId);
      this.labeler(p.id, input.labelerId);
      checkJudgment(input, task.completions.length, p.settings.axes);
      const other = this.db
        .prepare('SELECT submission_id FROM judgments WHERE task_id = ? AND labeler_id = ?')
        .get(input.taskId, input.labelerId) as { submission_id: string } | undefined;
      if (other)
        throw new StoreError(
          'conflict',
          `task ${input.taskId} was already judged by this labeler (submission "${other.submission_id}")`,
        );
      const t0 = this.now();
      // The unique (labeler, submission) constraint decides who stored a submission, not the read above.
      const r = this.db
        .prepare(`INSERT INTO judgments (task_id, labeler_id, submission_id, status, choice, ranking, shown, axes, feedback, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (labeler_id, submission_id) DO NOTHING RETURNING *`)
        .get(
          input.taskId,
          input.labelerId,
          input.submissionId,
          input.status ?? 'done',
          input.choice ?? null,
          json(input.ranking),
          JSON.stringify(input.shown),
          json(input.axes),
          input.feedback ?? null,
          t0.toISOString(),
        ) as JudgmentRow | undefined;
      if (!r) return retried(byId.get(input.labelerId, input.submissionId) as JudgmentRow);
      if (r.status === 'done')
        this.db.prepare('UPDATE tasks SET done_count = done_count + 1 WHERE id = ?').run(task.id);
      if (r.status === 'done' && task.gold === undefined) {
        const { taken } = this.db
          .prepare(`SELECT ${TAKEN} AS taken FROM tasks t WHERE t.id = @task`)
          .get({ task: task.id, labeler: input.labelerId, now: t0.toISOString() }) as { taken: number };
        if (taken > p.settings.overlap) throw overFull(task.id, p.settings.overlap, this.leaseMs); // rolls the insert back
      }
      this.db
        .prepare('DELETE FROM task_leases WHERE project_id = ? AND labeler_id = ? AND task_id = ?')
        .run(p.id, input.labelerId, task.id);
      return { judgment: toJudgment(r), created: true };
    });
    try {
      return run.immediate();
    } catch (e) {
      // Another connection committed the same submission between our read and insert: return theirs.
      if (isUnique(e)) {
        const first = byId.get(input.labelerId, input.submissionId) as JudgmentRow | undefined;
        if (first) return retried(first);
        throw new StoreError('conflict', `task ${input.taskId} was already judged by this labeler`);
      }
      throw e;
    }
  }

  async listJudgments(projectId: number): Promise<Judgment[]> {
    this.project(projectId);
    return (
      this.db
        .prepare('SELECT j.* FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = ? ORDER BY j.id')
        .all(projectId) as JudgmentRow[]
    ).map(toJudgment);
  }

  // ---- stats and export ----

  async projectStats(projectId: number): Promise<ProjectStats> {
    this.project(projectId);
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
    const p = this.project(projectId);
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

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
