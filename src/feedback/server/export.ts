// A project's judgments as the files the trainers read: our Comparison JSONL (rankings, confidence,
// written feedback for Chain of Hindsight), TRL preference JSONL (one line per pair of a ranking, with
// the confidence as `margin` when asked), both from pair tasks, or TRL's unpaired JSONL for KTO (one
// line per thumbs or Likert task, labeled by the labelers' majority). Shared by the HTTP export and
// `rlhf feedback export`.

import type { Comparison } from '../../data/comparison.js';
import { toTRL } from '../../data/formats/trl.js';
import type { ExportOptions, FeedbackStore, TaskVotes } from '../store/types.js';

export type ExportFormat = 'trl' | 'comparisons' | 'kto';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['trl', 'comparisons', 'kto'];

export interface ExportRequest extends ExportOptions {
  format: ExportFormat;
  /** TRL: each pair's margin is its comparison's confidence (0..1). */
  margin?: boolean;
}

/** TRL's unpaired record, which `rlhf train kto` reads: a desirable (true) or undesirable (false) completion. */
export interface UnpairedRecord {
  prompt: string;
  completion: string;
  label: boolean;
}

/** The records of a comparisons or trl export: the comparisons themselves, or TRL preference records. */
export function exportRecords(comparisons: Comparison[], format: 'trl' | 'comparisons', margin = false): unknown[] {
  return format === 'trl' ? comparisons.flatMap((c) => toTRL(c, { marginFromConfidence: margin })) : comparisons;
}

/**
 * A task's label by majority over its labelers: true when more said up (thumbs up, or a rating of 5–7)
 * than down (thumbs down, or 1–3), false for the reverse, null on a tie. NOTE: a rating of 4, the
 * midpoint, is no vote either way, so a task rated only 4 has no label.
 */
export function majorityLabel(v: Pick<TaskVotes, 'up' | 'down'>): boolean | null {
  return v.up > v.down ? true : v.down > v.up ? false : null;
}

/** The KTO records of a project's votes, and how many tasks were left without a majority. */
export function unpairedRecords(votes: TaskVotes[]): { records: UnpairedRecord[]; undecided: number } {
  const records: UnpairedRecord[] = [];
  for (const v of votes) {
    const label = majorityLabel(v);
    if (label !== null) records.push({ prompt: v.prompt, completion: v.completion, label });
  }
  return { records, undecided: votes.length - records.length };
}

export async function exportProject(
  store: FeedbackStore,
  projectId: number,
  req: ExportRequest,
): Promise<{ text: string; records: number; summary: string }> {
  const options = { includeDisabled: req.includeDisabled, skipped: req.skipped };
  let records: unknown[];
  let summary: string;
  if (req.format === 'kto') {
    const votes = await store.exportVotes(projectId, options);
    const r = unpairedRecords(votes);
    records = r.records;
    summary =
      `${votes.length} judged thumbs/likert task${votes.length === 1 ? '' : 's'} → ${records.length} kto records` +
      (r.undecided ? ` (${r.undecided} without a majority left out: a tie, or only ratings of 4)` : '');
  } else {
    const cs = await store.exportComparisons(projectId, options);
    records = exportRecords(cs, req.format, req.margin);
    summary = `${cs.length} comparisons → ${records.length} ${req.format} records`;
  }
  return { text: records.map((r) => JSON.stringify(r) + '\n').join(''), records: records.length, summary };
}

/** A file name for a download: `<project>-trl.jsonl`, with anything unsafe replaced. */
export function exportFileName(project: string, format: ExportFormat): string {
  const base = project.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'project';
  return `${base}-${format}.jsonl`;
}
