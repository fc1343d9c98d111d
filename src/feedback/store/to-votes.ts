// The judgments of single-output tasks as votes per task (FeedbackStore.exportVotes), which the KTO
// export turns into TRL's unpaired records by majority. Shared by every backend.

import { type ExportOptions, type Judgment, LIKERT_MIDPOINT, type Task, type TaskVotes } from './types.js';

/** A judgment with whether its labeler is disabled, as the backends read them. */
export interface JudgmentOf {
  judgment: Judgment;
  labelerDisabled: boolean;
}

/**
 * The votes on each single-output task with at least one counted judgment, in task order. Counted:
 * done judgments of enabled labelers; with `includeDisabled` also disabled labelers', with `skipped`
 * also skipped and flagged ones that carry an answer. A rating of 4 (the midpoint) is neutral.
 */
export function tallyVotes(tasks: Task[], judgments: JudgmentOf[], options: ExportOptions = {}): TaskVotes[] {
  const votes = new Map<number, TaskVotes>();
  for (const t of tasks) {
    if (t.kind === 'pair') continue;
    votes.set(t.id, {
      taskId: t.id,
      kind: t.kind,
      prompt: t.prompt,
      completion: t.completions[0],
      up: 0,
      down: 0,
      neutral: 0,
    });
  }
  for (const { judgment: j, labelerDisabled } of judgments) {
    const v = votes.get(j.taskId);
    if (!v || (labelerDisabled && !options.includeDisabled) || (j.status !== 'done' && !options.skipped)) continue;
    if (j.thumb !== undefined) v[j.thumb]++;
    else if (j.rating !== undefined)
      v[j.rating > LIKERT_MIDPOINT ? 'up' : j.rating < LIKERT_MIDPOINT ? 'down' : 'neutral']++;
  }
  return [...votes.values()].filter((v) => v.up + v.down + v.neutral > 0).sort((a, b) => a.taskId - b.taskId);
}
