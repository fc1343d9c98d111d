// A project's judgments as the files the trainers read: our Comparison JSONL (rankings, confidence,
// written feedback for Chain of Hindsight) or TRL preference JSONL (one line per pair of a ranking,
// with the confidence as `margin` when asked). Shared by the HTTP export and `rlhf feedback export`.

import type { Comparison } from '../../data/comparison.js';
import { toTRL } from '../../data/formats/trl.js';
import type { ExportOptions, FeedbackStore } from '../store/types.js';

export type ExportFormat = 'trl' | 'comparisons';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['trl', 'comparisons'];

export interface ExportRequest extends ExportOptions {
  format: ExportFormat;
  /** TRL: each pair's margin is its comparison's confidence (0..1). */
  margin?: boolean;
}

/** The JSON lines of an export (each ends with a newline), and how many comparisons they came from. */
export function exportRecords(comparisons: Comparison[], format: ExportFormat, margin = false): unknown[] {
  return format === 'trl' ? comparisons.flatMap((c) => toTRL(c, { marginFromConfidence: margin })) : comparisons;
}

export async function exportProject(
  store: FeedbackStore,
  projectId: number,
  req: ExportRequest,
): Promise<{ text: string; records: number; comparisons: number }> {
  const cs = await store.exportComparisons(projectId, { includeDisabled: req.includeDisabled, skipped: req.skipped });
  const records = exportRecords(cs, req.format, req.margin);
  return {
    text: records.map((r) => JSON.stringify(r) + '\n').join(''),
    records: records.length,
    comparisons: cs.length,
  };
}

/** A file name for a download: `<project>-trl.jsonl`, with anything unsafe replaced. */
export function exportFileName(project: string, format: ExportFormat): string {
  const base = project.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'project';
  return `${base}-${format}.jsonl`;
}
