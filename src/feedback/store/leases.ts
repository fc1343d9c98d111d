// The lease policy both backends share: how long a place is kept, and what a late labeler is told.
// A lease reserves one of a task's `overlap` places for the labeler nextTask handed it to; the SQL
// that counts and takes places is in each backend, always inside one serialized transaction.

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
      `other labelers' reservations, and this labeler's lease on it has expired or was never taken; ask for the next task ` +
      `(nextTask) and submit within the lease time (${formatMs(leaseMs)})`,
  );
}

const formatMs = (ms: number) =>
  ms >= 60_000 ? `${+(ms / 60_000).toFixed(1)} min` : ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
