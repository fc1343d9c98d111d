// Project statistics with each labeler's throughput (GET /api/projects/:id/stats, `rlhf feedback stats`),
// and as a plain-text table for the terminal (the admin page draws its own).

import type { Agreement, FeedbackStore, LabelerStats, ProjectStats } from '../store/types.js';
import { neutralizeBidi } from '../web/bidi.js';
import { describeKind, showKinds } from '../web/kinds.js';
import { throughputByLabeler, type Throughput } from './throughput.js';

export type LabelerRow = LabelerStats & { throughput: Throughput };
export type StatsWithThroughput = Omit<ProjectStats, 'labelers'> & { judgments: number; labelers: LabelerRow[] };

const IDLE: Throughput = { judgments: 0, lastHour: 0, medianSeconds: null, perHour: null, lastAt: null };

export async function projectStatsWithThroughput(
  store: FeedbackStore,
  projectId: number,
  now = new Date(),
): Promise<StatsWithThroughput> {
  const [stats, judgments] = await Promise.all([store.projectStats(projectId), store.listJudgments(projectId)]);
  const speed = throughputByLabeler(judgments, now);
  return {
    ...stats,
    judgments: judgments.length,
    labelers: stats.labelers.map((l) => ({ ...l, throughput: speed.get(l.userId) ?? IDLE })),
  };
}

/** When the gold tasks are served, for the stats' first line. */
const goldWhen = (n: number, every?: number) =>
  n === 0 || every === undefined ? '' : every > 0 ? `, one every ${every} tasks` : ', served after the others';

const pct = (a: Agreement) => (a.rate === null ? '–' : `${(a.rate * 100).toFixed(0)}% (n ${a.n})`);

export function statsTable(s: StatsWithThroughput, projectName: string, goldEvery?: number): string {
  const head = ['labeler', 'status', 'done', 'skipped', 'flagged', 'per hour', 'agreement', 'gold'];
  const rows = s.labelers.map((l) => [
    neutralizeBidi(l.name),
    l.disabled ? 'disabled' : 'active',
    String(l.done),
    String(l.skipped),
    String(l.flagged),
    l.throughput.perHour === null ? '–' : l.throughput.perHour.toFixed(0),
    pct(l.agreement),
    pct(l.gold),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return (
    [
      `${projectName}: ${s.tasks} tasks (${s.goldTasks} gold${goldWhen(s.goldTasks, goldEvery)}), ` +
        `${s.judgments} judgments, inter-labeler agreement ${pct(s.agreement)}`,
      ...(showKinds(s.kinds) ? s.kinds.map((k) => `  ${describeKind(k)}`) : []),
      line(head),
      ...rows.map(line),
    ].join('\n') + '\n'
  );
}
