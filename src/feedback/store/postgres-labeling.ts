// Leasing tasks to labelers and storing their judgments: the two places where a task's free places
// (its overlap) are counted and taken, each in a transaction holding the project's advisory lock.

import type pg from 'pg';
import { judgedAlready, notAssigned, overFull, requireAssignedOrder, submissionReused } from './leases.js';
import {
  type JudgmentRow,
  type PgContext,
  type TaskRow,
  J_COLS,
  T_COLS,
  json,
  one,
  pgCode,
  pgConstraint,
  requireLabeler,
  requireProject,
  toJudgment,
  toTask,
  tx,
} from './postgres-rows.js';
import { shownOrder } from './tokens.js';
import { StoreError, type Assignment, type JudgmentInput, type Project, type SubmitResult } from './types.js';
import { checkJudgment, parseJudgmentShape } from './validate.js';

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
const FRESH =
  `SELECT ${T_COLS} FROM tasks t WHERE t.project_id = $1 AND t.gold IS NULL AND t.done_count = 0 AND ` +
  `${UNSEEN}
  AND NOT EXISTS (SELECT 1 FROM task_leases l JOIN users u ON u.id = l.labeler_id
                  WHERE l.task_id = t.id AND l.labeler_id <> $2 AND l.expires_at > $3 AND NOT u.disabled)
  ORDER BY t.id LIMIT 1`;
const GOLD =
  `SELECT ${T_COLS} FROM tasks t WHERE t.project_id = $1 AND t.gold IS NOT NULL AND ${UNSEEN} ORDER BY ` +
  `t.id LIMIT 1`;

/** The labeler's next task, leased to them (null when none is left for them). */
export async function nextTask(cx: PgContext, projectId: number, labelerId: number): Promise<Assignment | null> {
  const p = await requireProject(cx.pool, projectId);
  await requireLabeler(cx.pool, projectId, labelerId);
  return tx(cx, p.id, (c) => assign(cx, c, p, labelerId));
}

/** Under the project lock: the labeler's held task if its place is still theirs, else a new one; leases it. */
async function assign(cx: PgContext, c: pg.PoolClient, p: Project, labelerId: number): Promise<Assignment | null> {
  const t0 = cx.now();
  const args = [p.id, labelerId, t0];
  const held = await one<TaskRow & { taken: number }>(
    `SELECT ${T_COLS}, ${taken('$2', '$3')} AS taken FROM task_leases l JOIN tasks t ON t.id = l.task_id
    WHERE l.project_id = $1 AND l.labeler_id = $2 AND ${UNSEEN}`,
    args,
    c,
  );
  let row: TaskRow | undefined = held && (held.gold !== null || held.taken < p.settings.overlap) ? held : undefined;
  if (!row) {
    const all = [...args, p.settings.overlap];
    const regular = async () => (await one<TaskRow>(PARTIAL, all, c)) ?? (await one<TaskRow>(FRESH, args, c));
    const gold = () => one<TaskRow>(GOLD, [p.id, labelerId], c);
    const seen = async () =>
      (await one<{ n: number }>(
        'SELECT count(*)::int AS n FROM judgments j JOIN tasks t ON t.id = j.task_id WHERE t.project_id = $1 ' +
          'AND j.labeler_id = $2',
        [p.id, labelerId],
        c,
      ))!.n;
    const goldTurn = p.settings.goldEvery > 0 && ((await seen()) + 1) % p.settings.goldEvery === 0;
    // NOTE: unseen gold tasks are served once no regular task is left (with goldEvery 0, only then).
    row = goldTurn ? ((await gold()) ?? (await regular())) : ((await regular()) ?? (await gold()));
  }
  if (!row) {
    await one('DELETE FROM task_leases WHERE project_id = $1 AND labeler_id = $2', [p.id, labelerId], c);
    return null;
  }
  const until = new Date(t0.getTime() + cx.leaseMs);
  await one(
    `INSERT INTO task_leases (project_id, labeler_id, task_id, expires_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (project_id, labeler_id) DO UPDATE SET task_id = excluded.task_id, expires_at = excluded.expires_at`,
    [p.id, labelerId, row.id, until],
    c,
  );
  const t = toTask(row);
  // The order shown is kept with the assignment: a task handed out again keeps the order it had.
  const { shown } = (await one<{ shown: number[] }>(
    `INSERT INTO assignments (task_id, labeler_id, shown, created_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (task_id, labeler_id) DO UPDATE SET shown = assignments.shown RETURNING shown`,
    [t.id, labelerId, JSON.stringify(shownOrder(t.id, labelerId, t.completions.length)), t0],
    c,
  ))!;
  return {
    taskId: t.id,
    projectId: p.id,
    kind: t.kind,
    prompt: t.prompt,
    completions: t.completions,
    shown,
    leaseExpiresAt: until.toISOString(),
  };
}

export async function submitJudgment(cx: PgContext, raw: JudgmentInput): Promise<SubmitResult> {
  const input = parseJudgmentShape(raw);
  const bySubmission = async (c: pg.ClientBase | pg.Pool) =>
    one<JudgmentRow>(
      `SELECT ${J_COLS} FROM judgments WHERE labeler_id = $1 AND submission_id = $2`,
      [input.labelerId, input.submissionId],
      c,
    );
  const retried = (first: JudgmentRow): SubmitResult => {
    if (first.task_id !== input.taskId) throw submissionReused(input.submissionId, first.task_id);
    return { judgment: toJudgment(first), created: false };
  };
  // A retry is answered with the first judgment before the body is checked again (it may differ).
  const first = await bySubmission(cx.pool);
  if (first) return retried(first);
  const tr = await one<TaskRow>(`SELECT ${T_COLS} FROM tasks t WHERE t.id = $1`, [input.taskId], cx.pool);
  if (!tr) throw new StoreError('not_found', `no task ${input.taskId}`);
  const task = toTask(tr);
  const p = await requireProject(cx.pool, task.projectId);
  await requireLabeler(cx.pool, p.id, input.labelerId);
  checkJudgment(input, task.kind, task.completions.length, p.settings.axes);
  const other = await one<{ submission_id: string }>(
    'SELECT submission_id FROM judgments WHERE task_id = $1 AND labeler_id = $2',
    [input.taskId, input.labelerId],
    cx.pool,
  );
  if (other) {
    // A concurrent copy of this very submission committed since the first read: answer as a retry.
    if (other.submission_id === input.submissionId) return retried((await bySubmission(cx.pool))!);
    throw judgedAlready(input.taskId, other.submission_id);
  }
  // NOTE: read outside the lock: an assignment is never removed, so one seen here still holds at commit.
  const given = await one<{ shown: number[] }>(
    'SELECT shown FROM assignments WHERE task_id = $1 AND labeler_id = $2',
    [input.taskId, input.labelerId],
    cx.pool,
  );
  if (!given) throw notAssigned(input.taskId);
  requireAssignedOrder(input.shown, given.shown, input.taskId);
  try {
    return await tx(cx, p.id, async (c) => {
      const t0 = cx.now();
      // The unique (labeler, submission) constraint decides who stored a submission, also between
      // projects (whose locks differ): a concurrent retry finds the row and answers with it.
      const r = await one<JudgmentRow>(
        `INSERT INTO judgments (task_id, labeler_id, submission_id, status, choice, ranking, thumb, rating, shown, ` +
          `axes, feedback, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (labeler_id, submission_id) DO ` +
          `NOTHING RETURNING ${J_COLS}`,
        [
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
          t0,
        ],
        c,
      );
      if (!r) return retried((await bySubmission(c))!);
      // NOTE: checked again under the lock: a labeler disabled while this was in flight adds no count.
      if (r.status === 'done') {
        await one(
          'UPDATE tasks SET done_count = done_count + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM users WHERE id ' +
            '= $2 AND NOT disabled)',
          [task.id, input.labelerId],
          c,
        );
      }
      if (r.status === 'done' && task.gold === undefined) {
        const { n } = (await one<{ n: number }>(
          `SELECT ${taken('$2', '$3')} AS n FROM tasks t WHERE t.id = $1`,
          [task.id, input.labelerId, t0],
          c,
        ))!;
        if (n > p.settings.overlap) throw overFull(task.id, p.settings.overlap, cx.leaseMs); // rolls the insert back
      }
      await one(
        'DELETE FROM task_leases WHERE project_id = $1 AND labeler_id = $2 AND task_id = $3',
        [p.id, input.labelerId, task.id],
        c,
      );
      return { judgment: toJudgment(r), created: true };
    });
  } catch (e) {
    if (pgCode(e) === '23505' && pgConstraint(e) === 'judgments_task_labeler') {
      const other = await one<{ submission_id: string }>(
        'SELECT submission_id FROM judgments WHERE task_id = $1 AND labeler_id = $2',
        [input.taskId, input.labelerId],
        cx.pool,
      );
      throw judgedAlready(input.taskId, other?.submission_id ?? '?');
    }
    throw e;
  }
}
