// The API on the PostgreSQL store (RLHF_TEST_POSTGRES, a fresh schema dropped afterwards): the
// same routes, role checks, idempotent submissions and exports as on SQLite.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { readComparisons } from '../../data/read-comparisons.js';
import { openStore } from '../store/open.js';
import { fixture, pair } from './test-helpers.js';

const URL_ = process.env.RLHF_TEST_POSTGRES;
const skip = URL_ ? false : 'RLHF_TEST_POSTGRES is not set (e.g. postgres://rlhf:rlhf@127.0.0.1:5432/rlhf)';
if (!URL_ && process.env.RLHF_CI === '1')
  test('API on PostgreSQL', () => assert.fail('RLHF_CI=1 but RLHF_TEST_POSTGRES is not set'));

test('the API on PostgreSQL: roles, labeling, a retried submission, export', { skip }, async () => {
  const schema = `rlhf_api_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-api-pg-'));
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const f = await fixture({}, { overlap: 2, axes: [] }, await openStore(URL_!, { schema }));
    try {
      const imp = await f.call('POST', `/api/projects/${f.project}/tasks/import`, f.tokens.admin, {
        jsonl: [pair(1), pair(2)].map((x) => JSON.stringify(x)).join('\n'),
      });
      assert.equal(imp.statusCode, 201, imp.body);
      assert.equal((await f.call('GET', `/api/projects/${f.other}/next`, f.tokens.ann)).statusCode, 403);
      assert.equal((await f.call('GET', '/api/users', f.tokens.ann)).statusCode, 403);
      for (const who of ['ann', 'bob'] as const) {
        for (let i = 0; ; i++) {
          const { task } = (await f.call('GET', `/api/projects/${f.project}/next`, f.tokens[who])).json();
          if (!task) break;
          const body = {
            taskId: task.taskId,
            submissionId: `${who}-${i}`,
            shown: task.shown,
            choice: task.shown[0] === 0 ? 2 : 8,
          };
          const url = `/api/projects/${f.project}/judgments`;
          const [a, b] = await Promise.all([
            f.call('POST', url, f.tokens[who], body),
            f.call('POST', url, f.tokens[who], body),
          ]);
          assert.deepEqual(
            [a.statusCode, b.statusCode].sort(),
            [200, 201],
            'two concurrent copies: one stored, one acknowledged',
          );
        }
      }
      assert.equal((await f.store.listJudgments(f.project)).length, 4);
      const stats = (await f.call('GET', `/api/projects/${f.project}/stats`, f.tokens.admin)).json();
      assert.deepEqual(stats.agreement, { n: 2, rate: 1 });
      const ex = await f.call('GET', `/api/projects/${f.project}/export?format=trl&margin=true`, f.tokens.admin);
      writeFileSync(join(dir, 'trl.jsonl'), ex.body);
      const r = readComparisons(join(dir, 'trl.jsonl'));
      assert.deepEqual([r.format, r.comparisons.length, r.issues.length], ['trl', 4, 0]);
      assert.ok(r.comparisons.every((c) => c.completions[0].endsWith(' a') && c.margin === 0.75));
    } finally {
      await f.store.close();
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
});
