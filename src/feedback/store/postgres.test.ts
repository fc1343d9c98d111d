// The PostgreSQL backend: the conformance suite, each test in a fresh schema of the database at
// RLHF_TEST_POSTGRES (dropped afterwards, so runs never collide), and what only PostgreSQL has:
// migrations under an advisory lock, the ?schema= URL parameter, connection errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from './open.js';
import { PostgresFeedbackStore } from './postgres.js';
import { migratePostgres, pgAppliedVersions, PG_SCHEMA_VERSION } from './postgres-migrations.js';
import { runStoreConformance, type StoreHarness } from './store-conformance.js';
import { shownOrder } from './tokens.js';
import type { FeedbackStore } from './types.js';

const URL_ = process.env.RLHF_TEST_POSTGRES;
const SKIP = URL_
  ? undefined
  : 'RLHF_TEST_POSTGRES is not set; to run the PostgreSQL store tests set it to a database URL, e.g. ' +
    'postgres://rlhf:rlhf@127.0.0.1:5432/rlhf';
if (!URL_ && process.env.RLHF_CI === '1') {
  test('PostgreSQL store tests', () =>
    assert.fail('RLHF_CI=1 but RLHF_TEST_POSTGRES is not set: CI must provide PostgreSQL (see .ci/run)'));
}

/** A new, empty schema; its name carries the pid so a crashed run's leftovers are recognisable. */
async function withSchema<T>(fn: (schema: string, admin: pg.Client) => Promise<T>, create = true): Promise<T> {
  const schema = `rlhf_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  try {
    if (create) await admin.query(`CREATE SCHEMA ${schema}`);
    return await fn(schema, admin);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

async function makePostgres(): Promise<StoreHarness> {
  const schema = `rlhf_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const opened: FeedbackStore[] = [];
  return {
    location: URL_!,
    openOptions: { schema },
    async open(options = {}) {
      const s = await PostgresFeedbackStore.open(URL_!, { ...options, schema });
      opened.push(s);
      return s;
    },
    async rows(table) {
      return (await admin.query(`SELECT * FROM ${schema}.${table}`)).rows as Record<string, unknown>[];
    },
    async dispose() {
      for (const s of opened) await s.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

runStoreConformance('PostgreSQL', makePostgres, { skip: SKIP });

test(
  'PostgreSQL: four connections migrating a new schema at the same instant: one applies, the others wait and ' +
    'find it done',
  { skip: SKIP },
  () =>
    withSchema(async (schema, admin) => {
      // Connected first, so that the four migrations start together (opening stores would stagger them).
      const clients = Array.from(
        { length: 4 },
        () => new pg.Client({ connectionString: URL_, options: `-c search_path=${schema}` }),
      );
      await Promise.all(clients.map((c) => c.connect()));
      try {
        const applied = await Promise.all(clients.map((c) => migratePostgres(c, { schema, createSchema: true })));
        assert.deepEqual(
          applied.map((a) => a.length).sort(),
          [0, 0, 0, PG_SCHEMA_VERSION],
          'one connection applied every version, the others nothing',
        );
        const { rows } = await admin.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
        assert.deepEqual(
          rows.map((r) => r.version),
          [1, 2, 3, 4, 5],
        );
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
      const stores = await Promise.all([0, 1].map(() => PostgresFeedbackStore.open(URL_!, { schema })));
      await stores[0].createProject('p');
      assert.equal((await stores[1].listProjects()).length, 1);
      for (const s of stores) await s.close();
    }, false),
);

test(
  'PostgreSQL: the current code opens a version-1 database and keeps its data; a newer one is refused',
  { skip: SKIP },
  () =>
    withSchema(async (schema, admin) => {
      const c = new pg.Client({ connectionString: URL_, options: `-c search_path=${schema}` });
      await c.connect();
      try {
        assert.deepEqual(await migratePostgres(c, { schema, to: 1 }), [1]);
        // Rows as version 1 wrote them (ids from the identity columns: 1 each in a new schema).
        await c.query(
          `INSERT INTO projects (name, settings, created_at) VALUES ('old', ` +
            `'{"overlap":2,"scale":9,"axes":[],"goldEvery":0}', '2024-01-01T00:00:00Z')`,
        );
        await c.query(
          `INSERT INTO users (name, role, token_sha256, disabled, created_at) VALUES ('ann', 'labeler', 'ab', ` +
            `false, '2024-01-01T00:00:00Z')`,
        );
        await c.query('INSERT INTO project_members VALUES (1, 1)');
        await c.query(
          `INSERT INTO tasks (project_id, prompt, completions, created_at) VALUES (1, 'p', '["x","y"]', ` +
            `'2024-01-01T00:00:00Z')`,
        );
        await c.query(`INSERT INTO judgments (task_id, labeler_id, submission_id, status, choice, shown, created_at)
      VALUES (1, 1, 's1', 'done', 8, '[1,0]', '2024-01-02T00:00:00Z')`);
      } finally {
        await c.end();
      }
      const store = await openStore(`${URL_}${URL_!.includes('?') ? '&' : '?'}schema=${schema}`);
      try {
        assert.deepEqual(
          (await admin.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)).rows.map(
            (r) => r.version,
          ),
          [1, 2, 3, 4, 5],
        );
        assert.equal(
          (await admin.query(`SELECT done_count FROM ${schema}.tasks WHERE id = 1`)).rows[0].done_count,
          1,
          'v3 counted the done judgment',
        );
        const [cmp] = await store.exportComparisons(1);
        assert.deepEqual(cmp.ranking, [0, 1], 'choice 8 with shown [1, 0]: B = completions[0] won');
        const [t2] = await store.addTasks(1, [{ prompt: 'q', completions: ['a', 'b'] }]);
        assert.equal(t2, 2);
        assert.equal((await store.nextTask(1, 1))!.taskId, t2);
      } catch (e) {
        await store.close();
        throw e;
      }
      await store.close();
      await admin.query(`INSERT INTO ${schema}.schema_migrations VALUES ($1, 'future', now())`, [
        PG_SCHEMA_VERSION + 1,
      ]);
      await assert.rejects(
        PostgresFeedbackStore.open(URL_!, { schema }),
        new RegExp(`schema version ${PG_SCHEMA_VERSION + 1}, newer than this rlhf knows \\(${PG_SCHEMA_VERSION}\\)`),
      );
      const c2 = new pg.Client({ connectionString: URL_, options: `-c search_path=${schema}` });
      await c2.connect();
      assert.equal((await pgAppliedVersions(c2)).length, PG_SCHEMA_VERSION + 1, 'untouched');
      await c2.end();
    }),
);

test(
  'PostgreSQL: a version-3 database with a labeler at work: their lease becomes an assignment in the order shown',
  { skip: SKIP },
  () =>
    withSchema(async (schema) => {
      const c = new pg.Client({ connectionString: URL_, options: `-c search_path=${schema}` });
      await c.connect();
      try {
        assert.deepEqual(await migratePostgres(c, { schema, to: 3 }), [1, 2, 3]);
        await c.query(
          `INSERT INTO projects (id, name, settings, created_at) VALUES (1, 'p', ` +
            `'{"overlap":1,"scale":9,"axes":[],"goldEvery":0}', now())`,
        );
        await c.query(
          `INSERT INTO users (id, name, role, token_sha256, created_at) VALUES (7, 'ann', 'labeler', 'ab', now())`,
        );
        await c.query('INSERT INTO project_members VALUES (1, 7)');
        await c.query(
          `INSERT INTO tasks (id, project_id, prompt, completions, created_at) VALUES (5, 1, 'p', ` +
            `'["x","y","z"]', now())`,
        );
        await c.query(`INSERT INTO task_leases VALUES (1, 7, 5, '2999-01-01T00:00:00Z')`);
      } finally {
        await c.end();
      }
      const store = await PostgresFeedbackStore.open(URL_!, { schema });
      try {
        const shown = shownOrder(5, 7, 3);
        const r = await store.submitJudgment({ taskId: 5, labelerId: 7, submissionId: 's', shown, ranking: [0, 1, 2] });
        assert.equal(r.created, true, 'the judgment of the task leased before the upgrade is taken');
      } finally {
        await store.close();
      }
    }),
);

test(
  'PostgreSQL: version 5 gives tasks a kind; the table itself holds a single-output task to one completion',
  { skip: SKIP },
  () =>
    withSchema(async (schema, admin) => {
      const c = new pg.Client({ connectionString: URL_, options: `-c search_path=${schema}` });
      await c.connect();
      try {
        assert.deepEqual(await migratePostgres(c, { schema, to: 4 }), [1, 2, 3, 4]);
        await c.query(
          `INSERT INTO projects (id, name, settings, created_at) VALUES (1, 'p', ` +
            `'{"overlap":1,"scale":9,"axes":[],"goldEvery":0}', now())`,
        );
        await c.query(
          `INSERT INTO tasks (id, project_id, prompt, completions, gold, created_at) VALUES (5, 1, 'p', ` +
            `'["x","y"]', '[1,0]', now())`,
        );
      } finally {
        await c.end();
      }
      const store = await PostgresFeedbackStore.open(URL_!, { schema });
      try {
        assert.deepEqual(
          { kind: (await store.getTask(5))!.kind, gold: (await store.getTask(5))!.gold },
          { kind: 'pair', gold: [1, 0] },
        );
        const [up, six] = await store.addTasks(1, [
          { kind: 'thumbs', prompt: 'q', completions: ['one'], gold: 'up' },
          { kind: 'likert', prompt: 'q', completions: ['two'], gold: 6 },
        ]);
        assert.deepEqual([(await store.getTask(up))!.gold, (await store.getTask(six))!.gold], ['up', 6]);
        const insert = (kind: string, completions: string) =>
          admin.query(
            `INSERT INTO ${schema}.tasks (project_id, kind, prompt, completions, created_at) VALUES (1, $1, 'q', ` +
              `$2, now())`,
            [kind, completions],
          );
        await assert.rejects(insert('thumbs', '["a","b"]'), /tasks_completions_check/);
        await assert.rejects(insert('pair', '["a"]'), /tasks_completions_check/);
        await assert.rejects(insert('stars', '["a"]'), /check constraint/);
      } finally {
        await store.close();
      }
    }),
);

test(
  'PostgreSQL: a missing schema is created; bad credentials name the server but not the password',
  { skip: SKIP },
  () =>
    withSchema(async (schema, admin) => {
      const s = await openStore(URL_!, { schema });
      await s.close();
      assert.equal((await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount, 1);
      const bad = new URL(URL_!);
      bad.password = 'wrong-secret';
      await assert.rejects(
        openStore(bad.toString(), { schema }),
        (e: Error) =>
          /cannot connect to PostgreSQL at postgres(ql)?:\/\/[^:]+:\*\*\*@/.test(e.message) &&
          !e.message.includes('wrong-secret'),
      );
    }, false),
);
