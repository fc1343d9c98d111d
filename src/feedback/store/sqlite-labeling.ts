// Leasing tasks to labelers and storing their judgments: the two places where a task's free places
// (its overlap) are counted and taken, each inside one immediate transaction (the file's write lock).

import { judgedAlready, notAssigned, overFull, requireAssignedOrder, submissionReused } from './leases.js';
import {
  type JudgmentRow,
  type SqliteContext,
  type TaskRow,
  isUnique,
  json,
  requireLabeler,
  requireProject,
  toJudgment,
  toTask,
} from './sqlite-rows.js';
import { shownOrder } from './tokens.js';
import { StoreError, type Assignment, type JudgmentInput, type Project, type SubmitResult } from './types.js';
import { checkJudgment, parseJudgmentShape } from './validate.js';

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
const FRESH =
  `SELECT t.* FROM tasks t WHERE t.project_id = @project AND t.gold IS NULL AND t.done_count = 0 AND ` +
  `${UNSEEN}
  AND NOT EXISTS (SELECT 1 FROM task_leases l JOIN users u ON u.id = l.labeler_id
                  WHERE l.task_id = t.id AND l.labeler_id <> @labeler AND l.expires_at > @now AND u.disabled = 0)
  ORDER BY t.id LIMIT 1`;

/** The labeler's next task, leased to them (null when none is left for them). */
export async function nextTask(cx: SqliteContext, projectId: number, labelerId: number): Promise<Assignment | null> {
  const p = requireProject(cx.db, projectId);
  requireLabeler(cx.db, projectId, labelerId);
  return cx.db.transaction(() => assign(cx, p, labelerId)).immediate();
}

/** Inside the write lock: the labeler's held task if its place is still theirs, else a new one; leases it. */
function assign(cx: SqliteContext, p: Project, labelerId: number): Assignment | null {
  const t0 = cx.now();
  const args = { project: p.id, labeler: labelerId, now: t0.toISOString(), overlap: p.settings.overlap };
  const held = cx.db
    .prepare(`SELECT t.*, ${TAKEN} AS taken FROM task_leases l JOIN tasks t ON t.id = l.task_id
    WHERE l.project_id = @project AND l.labeler_id = @labeler AND ${UNSEEN}`)
    .get(args) as (TaskRow & { taken: number }) | undefined;
  let row: TaskRow | undefined = held && (held.gold !== null || held.taken < p.settings.overlap) ? held : undefined;
  if (!row) {
    const regular = () => (cx.db.prepare(PARTIAL).get(args) ?? cx.db.prepare(FRESH).get(args)) as TaskRow | undefined;
    const gold = () =>
      cx.db
        .prepare(
          `SELECT t.* FROM tasks t WHERE t.project_id = @project AND t.gold IS NOT NULL AND ${UNSEEN} ORDER BY ` +
            `t.id LIMIT 1`,
        )
        .get(args) as TaskRow | undefined;
    const seen = () =>
      (
        cx.db
          .prepare(
            'SELECT count(*) AS n FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = ? AND ' +
              'j.labeler_id = ?',
          )
          .get(p.id, labelerId) as { n: number }
      ).n;
    const goldTurn = p.settings.goldEvery > 0 && (seen() + 1) % p.settings.goldEvery === 0;
    // NOTE: gold tasks left unseen are served once no regular task is left for the labeler (with
    // goldEvery 0, only then), so "nothing left" always means nothing left.
    row = goldTurn ? (gold() ?? regular()) : (regular() ?? gold());
  }
  if (!row) {
    cx.db.prepare('DELETE FROM task_leases WHERE project_id = ? AND labeler_id = ?').run(p.id, labelerId);
    return null;
  }
  const until = new Date(t0.getTime() + cx.leaseMs).toISOString();
  cx.db
    .prepare(`INSERT INTO task_leases (project_id, labeler_id, task_id, expires_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (project_id, labeler_id) DO UPDATE SET task_id = excluded.task_id, expires_at = excluded.expires_at`)
    .run(p.id, labelerId, row.id, until);
  const t = toTask(row);
  // The order shown is kept with the assignment: a task handed out again keeps the order it had.
  const { shown } = cx.db
    .prepare(`INSERT INTO assignments (task_id, labeler_id, shown, created_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (task_id, labeler_id) DO UPDATE SET shown = assignments.shown RETURNING shown`)
    .get(t.id, labelerId, JSON.stringify(shownOrder(t.id, labelerId, t.completions.length)), t0.toISOString()) as {
    shown: string;
  };
  return {
    taskId: t.id,
    projectId: p.id,
    kind: t.kind,
    prompt: t.prompt,
    completions: t.completions,
    shown: JSON.parse(shown) as number[],
    leaseExpiresAt: until,
  };
}

export async function submitJudgment(cx: SqliteContext, raw: JudgmentInput): Promise<SubmitResult> {
  const input = parseJudgmentShape(raw);
  const byId = cx.db.prepare('SELECT * FROM judgments WHERE labeler_id = ? AND submission_id = ?');
  const retried = (first: JudgmentRow): SubmitResult => {
    if (first.task_id !== input.taskId) throw submissionReused(input.submissionId, first.task_id);
    return { judgment: toJudgment(first), created: false };
  };
  const run = cx.db.transaction((): SubmitResult => {
    // A retry is answered with the first judgment before the body is checked again (it may differ).
    const first = byId.get(input.labelerId, input.submissionId) as JudgmentRow | undefined;
    if (first) return retried(first);
    const tr = cx.db.prepare('SELECT * FROM tasks WHERE id = ?').get(input.taskId) as TaskRow | undefined;
    if (!tr) throw new StoreError('not_found', `no task ${input.taskId}`);
    const task = toTask(tr);
    const p = requireProject(cx.db, task.projectId);
    requireLabeler(cx.db, p.id, input.labelerId);
    checkJudgment(input, task.kind, task.completions.length, p.settings.axes);
    const other = cx.db
      .prepare('SELECT submission_id FROM judgments WHERE task_id = ? AND labeler_id = ?')
      .get(input.taskId, input.labelerId) as { submission_id: string } | undefined;
    if (other) throw judgedAlready(input.taskId, other.submission_id);
    const given = cx.db
      .prepare('SELECT shown FROM assignments WHERE task_id = ? AND labeler_id = ?')
      .get(input.taskId, input.labelerId) as { shown: string } | undefined;
    if (!given) throw notAssigned(input.taskId);
    requireAssignedOrder(input.shown, JSON.parse(given.shown) as number[], input.taskId);
    const t0 = cx.now();
    // The unique (labeler, submission) constraint decides who stored a submission, not the read above.
    const r = cx.db
      .prepare(
        `INSERT INTO judgments (task_id, labeler_id, submission_id, status, choice, ranking, thumb, rating, shown, ` +
          `axes, feedback, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (labeler_id, submission_id) DO NOTHING RETURNING *`,
      )
      .get(
        input.taskId,
        input.labelerId,
        input.submissionId,
        input.status ?? 'done',
        input.choice ?? null,
        json(input.ranking),
        input.thumb ?? null,
        input.rating ?? null,
        JSON.stringify(input.shown),
        json(input.axes),
        input.feedback ?? null,
        t0.toISOString(),
      ) as JudgmentRow | undefined;
    if (!r) return retried(byId.get(input.labelerId, input.submissionId) as JudgmentRow);
    if (r.status === 'done') cx.db.prepare('UPDATE tasks SET done_count = done_count + 1 WHERE id = ?').run(task.id);
    if (r.status === 'done' && task.gold === undefined) {
      const { taken } = cx.db
        .prepare(`SELECT ${TAKEN} AS taken FROM tasks t WHERE t.id = @task`)
        .get({ task: task.id, labeler: input.labelerId, now: t0.toISOString() }) as { taken: number };
      if (taken > p.settings.overlap) throw overFull(task.id, p.settings.overlap, cx.leaseMs); // rolls the insert back
    }
    cx.db
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
      throw judgedAlready(input.taskId, '?');
    }
    throw e;
  }
}
