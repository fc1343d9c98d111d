// The feedback store on an embedded SQLite file (better-sqlite3): WAL journal, foreign keys on, a busy
// timeout so several connections (or processes) can share the file. Every write is one immediate
// transaction, committed (and, with synchronous FULL, fsynced) before the promise resolves.

import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Comparison } from '../../data/comparison.js';
import { AgreementSum, judgmentRanks, rankingRanks, type RankMap } from './agreement.js';
import { migrate } from './migrations.js';
import { judgmentToComparison } from './to-comparison.js';
import {
  StoreError, type Assignment, type ExportOptions, type FeedbackStore, type Judgment, type JudgmentInput,
  type LabelerStats, type Project, type ProjectSettings, type ProjectStats, type Role, type SubmitResult,
  type Task, type TaskInput, type User,
} from './types.js';
import { checkJudgment, parseJudgmentShape, parseSettings, parseTask, requireId, requireName, requireRole } from './validate.js';
import { FieldError } from '../../data/field-error.js';

export interface SqliteStoreOptions {
  /** How long a connection waits for another's write lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
  /** FULL (default) fsyncs every commit: survives power loss; NORMAL survives a killed process only. */
  synchronous?: 'FULL' | 'NORMAL';
  /** The clock for created_at (tests). */
  now?: () => Date;
}

interface ProjectRow { id: number; name: string; settings: string; created_at: string }
interface UserRow { id: number; name: string; role: Role; disabled: number; created_at: string }
interface TaskRow { id: number; project_id: number; prompt: string; completions: string; gold: string | null; meta: string | null; created_at: string }
interface JudgmentRow {
  id: number; task_id: number; labeler_id: number; submission_id: string; status: Judgment['status'];
  choice: number | null; ranking: string | null; shown: string; axes: string | null; feedback: string | null; created_at: string;
}

/** The hex SHA-256 of an access token: all the store keeps of it. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The display order of a task's K completions for one labeler: a permutation fixed by (task, labeler). */
export function shownOrder(taskId: number, labelerId: number, K: number): number[] {
  const h = createHash('sha512').update(`${taskId}:${labelerId}`).digest(); // 64 bytes: 4 per draw, K ≤ 16
  const order = Array.from({ length: K }, (_, i) => i);
  for (let i = K - 1; i > 0; i--) {
    const j = h.readUInt32BE(4 * (K - 1 - i)) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

const toProject = (r: ProjectRow): Project => ({ id: r.id, name: r.name, settings: JSON.parse(r.settings) as ProjectSettings, createdAt: r.created_at });
const toUser = (r: UserRow): User => ({ id: r.id, name: r.name, role: r.role, disabled: r.disabled === 1, createdAt: r.created_at });

function toTask(r: TaskRow): Task {
  const t: Task = { id: r.id, projectId: r.project_id, prompt: r.prompt, completions: JSON.parse(r.completions) as string[], createdAt: r.created_at };
  if (r.gold !== null) t.gold = JSON.parse(r.gold) as number[];
  if (r.meta !== null) t.meta = JSON.parse(r.meta) as Record<string, unknown>;
  return t;
}

function toJudgment(r: JudgmentRow): Judgment {
  const j: Judgment = {
    id: r.id, taskId: r.task_id, labelerId: r.labeler_id, submissionId: r.submission_id, status: r.status,
    shown: JSON.parse(r.shown) as number[], createdAt: r.created_at,
  };
  if (r.choice !== null) j.choice = r.choice;
  if (r.ranking !== null) j.ranking = JSON.parse(r.ranking) as number[];
  if (r.axes !== null) j.axes = JSON.parse(r.axes) as Record<string, number>;
  if (r.feedback !== null) j.feedback = r.feedback;
  return j;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

export class SqliteFeedbackStore implements FeedbackStore {
  readonly db: Database.Database;
  private readonly now: () => Date;

  /** Opens (creating if needed) the store at `path` (`:memory:` for tests) and migrates it. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    this.now = options.now ?? (() => new Date());
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
    if (this.db.prepare('SELECT 1 FROM projects WHERE name = ?').get(n)) throw new StoreError('conflict', `a project named "${n}" exists already`);
    const r = this.db.prepare('INSERT INTO projects (name, settings, created_at) VALUES (?, ?, ?) RETURNING *').get(n, JSON.stringify(s), this.time()) as ProjectRow;
    return toProject(r);
  }

  async listProjects(): Promise<Project[]> {
    return (this.db.prepare('SELECT * FROM projects ORDER BY id').all() as ProjectRow[]).map(toProject);
  }

  async getProject(id: number): Promise<Project | null> {
    const r = this.db.prepare('SELECT * FROM projects WHERE id = ?').get(requireId(id, 'projectId')) as ProjectRow | undefined;
    return r ? toProject(r) : null;
  }

  private project(id: number): Project {
    const r = this.db.prepare('SELECT * FROM projects WHERE id = ?').get(requireId(id, 'projectId')) as ProjectRow | undefined;
    if (!r) throw new StoreError('not_found', `no project ${id}`);
    return toProject(r);
  }

  // ---- users ----

  async createUser(name: string, role: Role): Promise<{ user: User; token: string }> {
    const n = requireName(name, 'name');
    const ro = requireRole(role);
    if (this.db.prepare('SELECT 1 FROM users WHERE name = ?').get(n)) throw new StoreError('conflict', `a user named "${n}" exists already`);
    const token = randomBytes(32).toString('base64url');
    const r = this.db.prepare('INSERT INTO users (name, role, token_sha256, created_at) VALUES (?, ?, ?, ?) RETURNING *')
      .get(n, ro, hashToken(token), this.time()) as UserRow;
    return { user: toUser(r), token };
  }

  async listUsers(): Promise<User[]> {
    return (this.db.prepare('SELECT * FROM users ORDER BY id').all() as UserRow[]).map(toUser);
  }

  async authenticate(token: string): Promise<User | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 200) return null;
    const r = this.db.prepare('SELECT * FROM users WHERE token_sha256 = ? AND disabled = 0').get(hashToken(token)) as UserRow | undefined;
    return r ? toUser(r) : null;
  }

  private user(id: number, field = 'userId'): User {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(requireId(id, field)) as UserRow | undefined;
    if (!r) throw new StoreError('not_found', `no user ${id}`);
    return toUser(r);
  }

  async disableUser(userId: number): Promise<User> {
    this.user(userId);
    this.db.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(userId);
    return this.user(userId);
  }

  async addMember(projectId: number, userId: number): Promise<void> {
    this.project(projectId);
    this.user(userId);
    this.db.prepare('INSERT OR IGNORE INTO project_members (project_id, user_id) VALUES (?, ?)').run(projectId, userId);
  }

  async isMember(projectId: number, userId: number): Promise<boolean> {
    return !!this.db.prepare('SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ?').get(requireId(projectId, 'projectId'), requireId(userId, 'userId'));
  }

  /** An enabled member of the project, or StoreError forbidden. */
  private labeler(projectId: number, labelerId: number): User {
    const u = this.user(labelerId, 'labelerId');
    if (u.disabled) throw new StoreError('forbidden', `user ${u.name} is disabled`);
    if (!this.db.prepare('SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ?').get(projectId, labelerId)) {
      throw new StoreError('forbidden', `user ${u.name} is not a member of project ${projectId}`);
    }
    return u;
  }

  // ---- tasks ----

  async addTasks(projectId: number, tasks: TaskInput[]): Promise<number[]> {
    this.project(projectId);
    if (!Array.isArray(tasks)) throw new FieldError('tasks', 'must be an array of tasks');
    const parsed = tasks.map((t, i) => parseTask(t, `tasks[${i}]`));
    const insert = this.db.prepare('INSERT INTO tasks (project_id, prompt, completions, gold, meta, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    const time = this.time();
    return this.db.transaction(() => parsed.map((t) =>
      Number(insert.run(projectId, t.prompt, JSON.stringify(t.completions), json(t.gold), json(t.meta), time).lastInsertRowid)),
    ).immediate();
  }

  async getTask(id: number): Promise<Task | null> {
    const r = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(requireId(id, 'taskId')) as TaskRow | undefined;
    return r ? toTask(r) : null;
  }

  async nextTask(projectId: number, labelerId: number): Promise<Assignment | null> {
    const p = this.project(projectId);
    this.labeler(projectId, labelerId);
    const seen = (this.db.prepare('SELECT count(*) AS n FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = ? AND j.labeler_id = ?')
      .get(projectId, labelerId) as { n: number }).n;
    const unseen = 'NOT EXISTS (SELECT 1 FROM judgments j WHERE j.task_id = t.id AND j.labeler_id = @labeler)';
    // NOTE: overlap counts `done` judgments of enabled labelers: a skip, a flag or a disabled labeler's
    // work leaves the place open for someone else.
    const regular = () => this.db.prepare(`
      SELECT * FROM (
        SELECT t.*, (SELECT count(*) FROM judgments j JOIN users u ON u.id = j.labeler_id
                     WHERE j.task_id = t.id AND j.status = 'done' AND u.disabled = 0) AS done_count
        FROM tasks t WHERE t.project_id = @project AND t.gold IS NULL AND ${unseen})
      WHERE done_count < @overlap ORDER BY done_count DESC, id LIMIT 1`)
      .get({ project: projectId, labeler: labelerId, overlap: p.settings.overlap }) as TaskRow | undefined;
    const gold = () => this.db.prepare(`SELECT t.* FROM tasks t WHERE t.project_id = @project AND t.gold IS NOT NULL AND ${unseen} ORDER BY t.id LIMIT 1`)
      .get({ project: projectId, labeler: labelerId }) as TaskRow | undefined;
    const goldTurn = p.settings.goldEvery > 0 && (seen + 1) % p.settings.goldEvery === 0;
    const r = goldTurn ? gold() ?? regular() : regular();
    if (!r) return null;
    const t = toTask(r);
    return { taskId: t.id, projectId, prompt: t.prompt, completions: t.completions, shown: shownOrder(t.id, labelerId, t.completions.length) };
  }

  // ---- judgments ----

  async submitJudgment(raw: JudgmentInput): Promise<SubmitResult> {
    const input = parseJudgmentShape(raw);
    const byId = this.db.prepare('SELECT * FROM judgments WHERE labeler_id = ? AND submission_id = ?');
    const run = this.db.transaction((): SubmitResult => {
      const first = byId.get(input.labelerId, input.submissionId) as JudgmentRow | undefined;
      if (first) {
        if (first.task_id !== input.taskId) {
          throw new StoreError('conflict', `submissionId "${input.submissionId}" was already used for task ${first.task_id}; generate a new id per submission`);
        }
        return { judgment: toJudgment(first), created: false };
      }
      const tr = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(input.taskId) as TaskRow | undefined;
      if (!tr) throw new StoreError('not_found', `no task ${input.taskId}`);
      const task = toTask(tr);
      const p = this.project(task.projectId);
      this.labeler(p.id, input.labelerId);
      checkJudgment(input, task.completions.length, p.settings.axes);
      const other = this.db.prepare('SELECT submission_id FROM judgments WHERE task_id = ? AND labeler_id = ?').get(input.taskId, input.labelerId) as { submission_id: string } | undefined;
      if (other) throw new StoreError('conflict', `task ${input.taskId} was already judged by this labeler (submission "${other.submission_id}")`);
      const r = this.db.prepare(`INSERT INTO judgments (task_id, labeler_id, submission_id, status, choice, ranking, shown, axes, feedback, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`).get(
        input.taskId, input.labelerId, input.submissionId, input.status ?? 'done', input.choice ?? null, json(input.ranking),
        JSON.stringify(input.shown), json(input.axes), input.feedback ?? null, this.time()) as JudgmentRow;
      return { judgment: toJudgment(r), created: true };
    });
    try {
      return run.immediate();
    } catch (e) {
      // Another process committed the same submission between our read and insert: return theirs.
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const first = byId.get(input.labelerId, input.submissionId) as JudgmentRow | undefined;
        if (first) return { judgment: toJudgment(first), created: false };
      }
      throw e;
    }
  }

  async listJudgments(projectId: number): Promise<Judgment[]> {
    this.project(projectId);
    return (this.db.prepare('SELECT j.* FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = ? ORDER BY j.id')
      .all(projectId) as JudgmentRow[]).map(toJudgment);
  }

  // ---- stats and export ----

  async projectStats(projectId: number): Promise<ProjectStats> {
    this.project(projectId);
    const tasks = new Map((this.db.prepare('SELECT * FROM tasks WHERE project_id = ?').all(projectId) as TaskRow[]).map((r) => [r.id, toTask(r)]));
    const members = (this.db.prepare('SELECT u.* FROM users u JOIN project_members m ON m.user_id = u.id WHERE m.project_id = ? ORDER BY u.id')
      .all(projectId) as UserRow[]).map(toUser);
    const disabled = new Set(members.filter((u) => u.disabled).map((u) => u.id));
    const judgments = await this.listJudgments(projectId);
    // Per task: the orders of done judgments, by labeler.
    const byTask = new Map<number, { labeler: number; ranks: RankMap }[]>();
    for (const j of judgments) {
      const ranks = j.status === 'done' ? judgmentRanks(j) : null;
      if (!ranks) continue;
      if (!byTask.has(j.taskId)) byTask.set(j.taskId, []);
      byTask.get(j.taskId)!.push({ labeler: j.labelerId, ranks });
    }
    const project = new AgreementSum();
    for (const js of byTask.values()) {
      const on = js.filter((x) => !disabled.has(x.labeler));
      for (let a = 0; a < on.length; a++) for (let b = a + 1; b < on.length; b++) project.add(on[a].ranks, on[b].ranks);
    }
    const labelers = members.map((u): LabelerStats => {
      const mine = judgments.filter((j) => j.labelerId === u.id);
      const count = (s: string) => mine.filter((j) => j.status === s).length;
      const withOthers = new AgreementSum(), withGold = new AgreementSum();
      for (const [taskId, js] of byTask) {
        const own = js.find((x) => x.labeler === u.id);
        if (!own) continue;
        for (const x of js) if (x.labeler !== u.id && !disabled.has(x.labeler)) withOthers.add(own.ranks, x.ranks);
        const gold = tasks.get(taskId)?.gold;
        if (gold) withGold.add(own.ranks, rankingRanks(gold));
      }
      return {
        userId: u.id, name: u.name, disabled: u.disabled, done: count('done'), skipped: count('skipped'), flagged: count('flagged'),
        agreement: withOthers.result(), gold: withGold.result(),
      };
    });
    const goldTasks = [...tasks.values()].filter((t) => t.gold).length;
    return { projectId, tasks: tasks.size, goldTasks, agreement: project.result(), labelers };
  }

  async exportComparisons(projectId: number, options: ExportOptions = {}): Promise<Comparison[]> {
    const p = this.project(projectId);
    const rows = this.db.prepare(`
      SELECT j.*, u.name AS labeler_name, u.disabled AS labeler_disabled FROM judgments j
      JOIN tasks t ON t.id = j.task_id JOIN users u ON u.id = j.labeler_id
      WHERE t.project_id = ? ORDER BY j.id`).all(projectId) as (JudgmentRow & { labeler_name: string; labeler_disabled: number })[];
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
