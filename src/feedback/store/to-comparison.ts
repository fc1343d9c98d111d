// A stored judgment as the project's Comparison record (src/data/comparison.ts), which every trainer reads.

import type { Comparison } from '../../data/comparison.js';
import type { Judgment, Task } from './types.js';

/**
 * NOTE: choice and ranking are in display positions; `shown` maps them back to completions (the left
 * one is shown[0], not completions[0]). A pair judged 5 ("equal") is no comparison: null.
 */
export function judgmentToComparison(task: Task, j: Judgment, labeler: string, project: string): Comparison | null {
  let ranking: number[];
  let confidence: number | undefined;
  if (j.choice !== undefined) {
    if (j.choice === 5) return null;
    const [a, b] = j.shown;
    ranking = j.choice < 5 ? [a, b] : [b, a];
    confidence = Math.abs(j.choice - 5) / 4;
  } else if (j.ranking !== undefined) {
    ranking = j.ranking.map((p) => j.shown[p]);
  } else {
    return null;
  }
  const meta: Record<string, unknown> = { ...(task.meta ?? {}), task_id: task.id, judgment_id: j.id };
  if (j.choice !== undefined) meta.choice = j.choice;
  if (j.status !== 'done') meta.status = j.status;
  if (j.axes) meta.axes = j.axes;
  if (task.gold) meta.gold = task.gold;
  const c: Comparison = { prompt: task.prompt, completions: [...task.completions], ranking };
  if (confidence !== undefined) c.confidence = confidence;
  if (j.feedback !== undefined) c.feedback = j.feedback;
  c.labeler = labeler;
  c.time = j.createdAt;
  c.source = `feedback:${project}`;
  c.meta = meta;
  return c;
}
