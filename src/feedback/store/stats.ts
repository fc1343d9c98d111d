// Project statistics from a project's tasks, members and judgments: computed in TypeScript, the same
// for every backend (the agreement measures are not worth writing twice in two SQL dialects).

import { type Answer, AgreementSum, goldAnswer, judgmentAnswer } from './agreement.js';
import { fleissKappa, krippendorffAlpha, meanAbsDiff } from './reliability.js';
import {
  type Judgment,
  type KindStats,
  type LabelerStats,
  type ProjectStats,
  TASK_KINDS,
  type Task,
  type TaskKind,
  type User,
} from './types.js';

type Answers = Map<number, { labeler: number; answer: Answer }[]>;

export function computeProjectStats(
  projectId: number,
  tasks: Task[],
  members: User[],
  judgments: Judgment[],
): ProjectStats {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const disabled = new Set(members.filter((u) => u.disabled).map((u) => u.id));
  // Per task: the answers of done judgments, by labeler.
  const byTask: Answers = new Map();
  for (const j of judgments) {
    const answer = j.status === 'done' ? judgmentAnswer(j) : null;
    if (!answer) continue;
    if (!byTask.has(j.taskId)) byTask.set(j.taskId, []);
    byTask.get(j.taskId)!.push({ labeler: j.labelerId, answer });
  }
  const project = new AgreementSum();
  for (const js of byTask.values()) {
    const on = js.filter((x) => !disabled.has(x.labeler));
    for (let a = 0; a < on.length; a++) for (let b = a + 1; b < on.length; b++) project.add(on[a].answer, on[b].answer);
  }
  const labelers = members.map((u): LabelerStats => {
    const mine = judgments.filter((j) => j.labelerId === u.id);
    const count = (s: string) => mine.filter((j) => j.status === s).length;
    const withOthers = new AgreementSum(),
      withGold = new AgreementSum();
    for (const [taskId, js] of byTask) {
      const own = js.find((x) => x.labeler === u.id);
      if (!own) continue;
      for (const x of js) if (x.labeler !== u.id && !disabled.has(x.labeler)) withOthers.add(own.answer, x.answer);
      const task = byId.get(taskId);
      const gold = task && goldAnswer(task);
      if (gold) withGold.add(own.answer, gold);
    }
    return {
      userId: u.id,
      name: u.name,
      disabled: u.disabled,
      done: count('done'),
      skipped: count('skipped'),
      flagged: count('flagged'),
      agreement: withOthers.result(),
      gold: withGold.result(),
    };
  });
  const goldTasks = tasks.filter((t) => t.gold !== undefined).length;
  const kinds = TASK_KINDS.map((k) =>
    kindStats(
      k,
      tasks.filter((t) => t.kind === k),
      byTask,
      disabled,
    ),
  ).filter((k) => k.tasks > 0);
  return { projectId, tasks: tasks.length, goldTasks, agreement: project.result(), kinds, labelers };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** The statistics of one kind of task, over the done judgments of enabled labelers. */
function kindStats(kind: TaskKind, tasks: Task[], byTask: Answers, disabled: Set<number>): KindStats {
  const agreement = new AgreementSum(),
    gold = new AgreementSum();
  const units: Answer[][] = [];
  const goldDiffs: number[] = [];
  for (const t of tasks) {
    const on = (byTask.get(t.id) ?? []).filter((x) => !disabled.has(x.labeler)).map((x) => x.answer);
    for (let a = 0; a < on.length; a++) for (let b = a + 1; b < on.length; b++) agreement.add(on[a], on[b]);
    const g = goldAnswer(t);
    if (g) for (const x of on) gold.add(x, g);
    if (g?.kind === 'likert')
      for (const x of on) if (x.kind === 'likert') goldDiffs.push(Math.abs(x.rating - g.rating));
    units.push(on);
  }
  const s: KindStats = {
    kind,
    tasks: tasks.length,
    goldTasks: tasks.filter((t) => t.gold !== undefined).length,
    judgments: units.reduce((n, u) => n + u.length, 0),
    agreement: agreement.result(),
    gold: gold.result(),
  };
  if (kind === 'thumbs') {
    const ups = units.map((u) => u.flatMap((a) => (a.kind === 'thumbs' ? [a.up] : [])));
    const all = ups.flat();
    s.upRate = all.length ? all.filter(Boolean).length / all.length : null;
    s.kappa = fleissKappa(ups);
  } else if (kind === 'likert') {
    const ratings = units.map((u) => u.flatMap((a) => (a.kind === 'likert' ? [a.rating] : [])));
    s.meanRating = mean(ratings.flat());
    s.meanAbsDiff = meanAbsDiff(ratings);
    s.goldMeanAbsDiff = mean(goldDiffs);
    s.alpha = krippendorffAlpha(ratings);
  }
  return s;
}
