// How fast each labeler works, from the times of their judgments. Time away (a gap of more than
// IDLE_SECONDS between two submissions) is not counted as labeling time.

import type { Judgment } from '../store/types.js';

export const IDLE_SECONDS = 600;

export interface Throughput {
  /** Judgments of any status. */
  judgments: number;
  /** Judgments in the hour before `now`. */
  lastHour: number;
  /** Median seconds between consecutive submissions (gaps over IDLE_SECONDS left out), or null. */
  medianSeconds: number | null;
  /** Judgments per hour of active labeling (3600 / mean active gap), or null. */
  perHour: number | null;
  /** ISO time of the latest judgment, or null. */
  lastAt: string | null;
}

export function throughputByLabeler(judgments: Judgment[], now = new Date()): Map<number, Throughput> {
  const times = new Map<number, number[]>();
  for (const j of judgments) {
    if (!times.has(j.labelerId)) times.set(j.labelerId, []);
    times.get(j.labelerId)!.push(Date.parse(j.createdAt));
  }
  const out = new Map<number, Throughput>();
  for (const [labeler, ts] of times) {
    ts.sort((a, b) => a - b);
    const gaps: number[] = [];
    for (let i = 1; i < ts.length; i++) {
      const g = (ts[i] - ts[i - 1]) / 1000;
      if (g <= IDLE_SECONDS) gaps.push(g);
    }
    const sorted = [...gaps].sort((a, b) => a - b);
    const median = sorted.length ? (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2 : null;
    const mean = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : null;
    out.set(labeler, {
      judgments: ts.length,
      lastHour: ts.filter((t) => now.getTime() - t <= 3600_000).length,
      medianSeconds: median,
      perHour: mean === null ? null : mean > 0 ? 3600 / mean : null,
      lastAt: ts.length ? new Date(ts[ts.length - 1]).toISOString() : null,
    });
  }
  return out;
}
