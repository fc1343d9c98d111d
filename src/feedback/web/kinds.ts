// One line per kind of task for the statistics of a project that has thumbs or Likert tasks: counts,
// agreement and gold accuracy in the measures that suit the kind. Shared by the admin page and
// `rlhf feedback stats`.

import type { Agreement, KindStats } from '../store/types.js';

const pct = (a: Agreement) => (a.rate === null ? '–' : `${Math.round(a.rate * 100)}% (n ${a.n})`);
const num = (x: number | null | undefined, digits: number) => (x === null || x === undefined ? '–' : x.toFixed(digits));

/** Whether a project's statistics need the lines by kind: it has tasks of another kind than pair. */
export const showKinds = (kinds: KindStats[]) => kinds.some((k) => k.kind !== 'pair');

/**
 * "thumbs: 3 tasks (1 gold), 9 judgments, 44% up · agreement 56% (n 9), Fleiss κ 0.10 · gold 67% (n 3)";
 * Likert agreement is the share of ratings at most one point apart.
 */
export function describeKind(k: KindStats): string {
  const head =
    `${k.kind}: ${k.tasks} task${k.tasks === 1 ? '' : 's'} (${k.goldTasks} gold), ` +
    `${k.judgments} judgment${k.judgments === 1 ? '' : 's'}`;
  if (k.kind === 'thumbs')
    return (
      `${head}, ${num(k.upRate === null || k.upRate === undefined ? k.upRate : 100 * k.upRate, 0)}% up · ` +
      `agreement ${pct(k.agreement)}, ` +
      `Fleiss κ ${num(k.kappa, 2)} · gold ${pct(k.gold)}`
    );
  if (k.kind === 'likert')
    return (
      `${head}, mean rating ${num(k.meanRating, 1)} · within one point ${pct(k.agreement)}, mean |difference| ` +
      `${num(k.meanAbsDiff, 1)}, Krippendorff α ${num(k.alpha, 2)} · gold within one point ${pct(k.gold)}, ` +
      `mean |difference| ${num(k.goldMeanAbsDiff, 1)}`
    );
  return `${head} · agreement ${pct(k.agreement)} · gold ${pct(k.gold)}`;
}
