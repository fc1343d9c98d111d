// The lease policy both backends share: how long a place is kept, and what a labeler whose submission
// does not fit is told. A lease reserves one of a task's `overlap` places for the labeler nextTask
// handed it to; the SQL that counts and takes places is in each backend, always inside one serialized
// transaction. An assignment (kept after the lease ends) records that the task was handed to the
// labeler, and in which display order: only an assigned task can be judged, only in that order.

import { FieldError } from '../../data/field-error.js';
import { requireInt } from './validate.js';
import { StoreError } from './types.js';

/** How long nextTask reserves a place by default: long enough to read a post and two summaries. */
export const DEFAULT_LEASE_MS = 10 * 60 * 1000;
const MAX_LEASE_MS = 7 * 24 * 3600 * 1000;

/** The store option leaseMs (milliseconds, 1 ms – 7 days), or its default. */
export function leaseMsOption(v: unknown, field = 'leaseMs'): number {
  if (v === undefined) return DEFAULT_LEASE_MS;
  return requireInt(v, field, 1, MAX_LEASE_MS);
}

/** The refusal of a done judgment that would push a task past its overlap. */
export function overFull(taskId: number, overlap: number, leaseMs: number): StoreError {
  return new StoreError(
    'conflict',
    `task ${taskId} already has its ${overlap} judgment${overlap === 1 ? '' : 's'} (overlap ${overlap}) counting ` +
      `other labelers' reservations, and this labeler's lease on it has expired; ask for the next task ` +
      `(nextTask) and submit within the lease time (${formatMs(leaseMs)})`,
    'places_taken',
  );
}

/** The refusal of a judgment of a task nextTask never gave this labeler. */
export function notAssigned(taskId: number): StoreError {
  return new StoreError(
    'conflict',
    `task ${taskId} was never given to this labeler; judge the task nextTask (GET /api/projects/:id/next) returns`,
    'not_assigned',
  );
}

/** The refusal of a second judgment of one task by one labeler (another tab, another submissionId). */
export function judgedAlready(taskId: number, submissionId: string): StoreError {
  return new StoreError(
    'conflict',
    `task ${taskId} was already judged by this labeler (submission "${submissionId}")`,
    'judged_already',
  );
}

/** The refusal of a submissionId used before for another task. */
export function submissionReused(submissionId: string, taskId: number): StoreError {
  return new StoreError(
    'conflict',
    `submissionId "${submissionId}" was already used for task ${taskId}; generate a new id per submission`,
    'submission_reused',
  );
}

/** `shown` must be the display order the store assigned: a client cannot reorder what was judged. */
export function requireAssignedOrder(shown: number[], assigned: number[], taskId: number): void {
  if (shown.length === assigned.length && shown.every((c, i) => c === assigned[i])) return;
  throw new FieldError(
    'shown',
    `is [${shown.join(', ')}] but task ${taskId} was shown to this labeler as [${assigned.join(', ')}]; ` +
      'send the "shown" that nextTask returned, unchanged (choice and ranking refer to that order)',
  );
}

const formatMs = (ms: number) =>
  ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
