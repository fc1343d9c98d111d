// Project statistics from a project's tasks, members and judgments: computed in TypeScript, the same
// for every backend (the agreement measures are not worth writing twice in two SQL dialects).

import { AgreementSum, judgmentRanks, rankingRanks, type RankMap } from './agreement.js';
import type { Judgment, LabelerStats, ProjectStats, Task, User } from './types.js';

export function computeProjectStats(
  projectId: number,
  tasks: Task[],
  members: User[],
  judgments: Judgment[],
): ProjectStats {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const disabled = new Set(members.filter((u) => u.disabled).map((u) => u.id));
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
    const withOthers = new AgreementSum(),
      withGold = new AgreementSum();
    for (const [taskId, js] of byTask) {
      const own = js.find((x) => x.labeler === u.id);
      if (!own) continue;
      for (const x of js) if (x.labeler !== u.id && !disabled.has(x.labeler)) withOthers.add(own.ranks, x.ranks);
      const gold = byId.get(taskId)?.gold;
      if (gold) withGold.add(own.ranks, rankingRanks(gold));
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
  const goldTasks = tasks.filter((t) => t.gold).length;
  return { projectId, tasks: tasks.length, goldTasks, agreement: project.result(), labelers };
}
