import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Judgment } from '../store/types.js';
import { throughputByLabeler } from './throughput.js';

const at = (labelerId: number, seconds: number): Judgment => ({
  id: 0,
  taskId: 0,
  labelerId,
  submissionId: 's',
  status: 'done',
  shown: [0, 1],
  createdAt: new Date(Date.UTC(2024, 0, 1) + seconds * 1000).toISOString(),
});

it('throughput: idle gaps are not labeling time; median and rate per active hour', () => {
  // Labeler 1: gaps 10, 20, (970 idle), 10 s, given out of order.
  const js = [at(1, 30), at(1, 0), at(1, 10), at(1, 1000), at(1, 1010), at(2, 5)];
  const now = new Date(Date.UTC(2024, 0, 1) + 3700 * 1000);
  const t = throughputByLabeler(js, now);
  assert.deepEqual(t.get(1), {
    judgments: 5,
    lastHour: 2,
    medianSeconds: 10,
    perHour: 3600 / (40 / 3),
    lastAt: '2024-01-01T00:16:50.000Z',
  });
  assert.deepEqual(t.get(2), {
    judgments: 1,
    lastHour: 0,
    medianSeconds: null,
    perHour: null,
    lastAt: '2024-01-01T00:00:05.000Z',
  });
  assert.equal(t.get(3), undefined);
});
