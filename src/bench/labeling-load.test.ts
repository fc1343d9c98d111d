// The load test's harness at a small size, as a test of the service (not of its speed): real
// `rlhf serve` processes, labelers submitting concurrently with retries, one server killed with
// SIGKILL mid-run and started again; then every acknowledged judgment is in the store exactly once and
// no task went beyond its overlap. On PostgreSQL two server processes share one store (issue 7).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { runLabelingLoad } from './labeling-load.js';

test(
  'SQLite, one server killed mid-run: every acknowledged judgment is stored exactly once',
  { timeout: 120_000 },
  async () => {
    const r = await runLabelingLoad({
      labelers: 5,
      tasks: 40,
      overlap: 2,
      servers: 1,
      retryShare: 0.3,
      killAfter: 25,
      seed: 1,
    });
    assert.equal(r.kills, 1);
    assert.ok(r.retriesSent > 0);
    assert.equal(r.acknowledged, 80);
    assert.deepEqual(r.check, { inStore: 80, missing: 0, duplicates: 0, overOverlap: 0, labelerTwice: 0, ok: true });
    assert.ok(r.next.p50 > 0 && r.submit.p99 >= r.submit.p50);
  },
);

const URL_ = process.env.RLHF_TEST_POSTGRES;
const skip = URL_ ? false : 'RLHF_TEST_POSTGRES is not set (e.g. postgres://rlhf:rlhf@127.0.0.1:5432/rlhf)';
if (!URL_ && process.env.RLHF_CI === '1')
  test('two servers on PostgreSQL', () => assert.fail('RLHF_CI=1 but RLHF_TEST_POSTGRES is not set'));

test(
  'two rlhf serve processes share one PostgreSQL store: no task beyond its overlap, no judgment lost or doubled',
  { skip, timeout: 180_000 },
  async () => {
    const schema = `rlhf_load_${process.pid}_${randomBytes(4).toString('hex')}`;
    const url = new URL(URL_!);
    url.searchParams.set('schema', schema);
    try {
      const r = await runLabelingLoad({
        labelers: 6,
        tasks: 60,
        overlap: 3,
        servers: 2,
        database: url.toString(),
        retryShare: 0.2,
        killAfter: 60,
        seed: 2,
      });
      assert.equal(r.backend, 'postgres');
      assert.equal(r.kills, 1, 'one of the two servers was killed and restarted');
      assert.deepEqual(r.check, { inStore: 180, missing: 0, duplicates: 0, overOverlap: 0, labelerTwice: 0, ok: true });
    } finally {
      const c = new pg.Client({ connectionString: URL_ });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  },
);
