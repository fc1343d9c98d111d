import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { appliedVersions, migrate, MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { SqliteFeedbackStore } from './sqlite.js';
import { shownOrder } from './tokens.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';

const indexes = (db: Database.Database) =>
  (
    db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as { name: string }[]
  ).map((r) => r.name);

test('a fresh database gets every migration once', () => {
  const db = new Database(':memory:');
  assert.deepEqual(
    migrate(db),
    MIGRATIONS.map((m) => m.version),
  );
  assert.deepEqual(migrate(db), [], 'a second run applies nothing');
  assert.deepEqual(
    appliedVersions(db),
    MIGRATIONS.map((m) => m.version),
  );
  assert.ok(indexes(db).includes('judgments_task_status'));
  db.close();
});

test('the current code opens a version-1 database and keeps its data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-mig-'));
  try {
    const file = join(dir, 'old.db');
    const old = new Database(file);
    assert.deepEqual(migrate(old, 1), [1]);
    // Rows as version 1 wrote them.
    old
      .prepare(
        'INSERT INTO projects VALUES (1, \'old\', \'{"overlap":2,"scale":9,"axes":[],"goldEvery":0}\', ' +
          "'2024-01-01T00:00:00.000Z')",
      )
      .run();
    old.prepare("INSERT INTO users VALUES (1, 'ann', 'labeler', 'ab', 0, '2024-01-01T00:00:00.000Z')").run();
    old.prepare('INSERT INTO project_members VALUES (1, 1)').run();
    old.prepare("INSERT INTO tasks VALUES (1, 1, 'p', '[\"x\",\"y\"]', NULL, NULL, '2024-01-01T00:00:00.000Z')").run();
    old
      .prepare(
        "INSERT INTO judgments VALUES (1, 1, 1, 's1', 'done', 8, NULL, '[1,0]', NULL, NULL, " +
          "'2024-01-02T00:00:00.000Z')",
      )
      .run();
    old.close();

    const store = new SqliteFeedbackStore(file);
    assert.deepEqual(appliedVersions(store.db), [1, 2, 3, 4, 5]);
    assert.ok(indexes(store.db).includes('tasks_project'));
    assert.equal(
      (store.db.prepare('SELECT done_count FROM tasks WHERE id = 1').get() as { done_count: number }).done_count,
      1,
      'v3 counted the done judgment',
    );
    const [c] = await store.exportComparisons(1);
    assert.deepEqual(c.ranking, [0, 1], 'choice 8 with shown [1, 0]: B = completions[0] won');
    const [t2] = await store.addTasks(1, [{ prompt: 'q', completions: ['a', 'b'] }]);
    assert.equal((await store.nextTask(1, 1))!.taskId, t2);
    assert.equal(
      (store.db.prepare('SELECT count(*) AS n FROM task_leases').get() as { n: number }).n,
      1,
      'the lease table of v3 is in use',
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a version-3 database with a labeler at work: their lease becomes an assignment in the order they were ' + 'shown',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-mig-'));
    try {
      const file = join(dir, 'v3.db');
      const old = new Database(file);
      assert.deepEqual(migrate(old, 3), [1, 2, 3]);
      old
        .prepare(
          'INSERT INTO projects VALUES (1, \'p\', \'{"overlap":1,"scale":9,"axes":[],"goldEvery":0}\', ' +
            "'2024-01-01T00:00:00.000Z')",
        )
        .run();
      old.prepare("INSERT INTO users VALUES (7, 'ann', 'labeler', 'ab', 0, '2024-01-01T00:00:00.000Z')").run();
      old.prepare('INSERT INTO project_members VALUES (1, 7)').run();
      old
        .prepare(
          'INSERT INTO tasks VALUES (5, 1, \'p\', \'["x","y","z"]\', NULL, NULL, \'2024-01-01T00:00:00.000Z\', 0)',
        )
        .run();
      old.prepare("INSERT INTO task_leases VALUES (1, 7, 5, '2999-01-01T00:00:00.000Z')").run();
      old.close();
      const store = new SqliteFeedbackStore(file);
      const shown = shownOrder(5, 7, 3);
      const r = await store.submitJudgment({ taskId: 5, labelerId: 7, submissionId: 's', shown, ranking: [0, 1, 2] });
      assert.equal(r.created, true, 'the judgment of the task leased before the upgrade is taken');
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('version 5 rebuilds tasks for single-output kinds: ids, counts, references and indexes survive', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-mig-'));
  try {
    const file = join(dir, 'v4.db');
    const old = new Database(file);
    old.pragma('foreign_keys = ON');
    assert.deepEqual(migrate(old, 4), [1, 2, 3, 4]);
    old
      .prepare(
        'INSERT INTO projects VALUES (1, \'p\', \'{"overlap":2,"scale":9,"axes":[],"goldEvery":0}\', ' +
          "'2024-01-01T00:00:00.000Z')",
      )
      .run();
    old.prepare("INSERT INTO users VALUES (7, 'ann', 'labeler', 'ab', 0, '2024-01-01T00:00:00.000Z')").run();
    old.prepare('INSERT INTO project_members VALUES (1, 7)').run();
    const task = old.prepare("INSERT INTO tasks VALUES (?, 1, ?, ?, ?, NULL, '2024-01-01T00:00:00.000Z', ?)");
    task.run(5, 'judged', '["x","y"]', null, 1);
    task.run(9, 'gold', '["x","y"]', '[1,0]', 0);
    old
      .prepare("INSERT INTO judgments VALUES (1, 5, 7, 's1', 'done', 2, NULL, '[0,1]', NULL, 'ok', '2024-01-02')")
      .run();
    old.prepare("INSERT INTO assignments VALUES (5, 7, '[0,1]', '2024-01-02')").run();
    old.prepare("INSERT INTO task_leases VALUES (1, 7, 9, '2999-01-01T00:00:00.000Z')").run();
    old.close();

    const store = new SqliteFeedbackStore(file);
    assert.deepEqual(appliedVersions(store.db), [1, 2, 3, 4, 5]);
    assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are on again');
    assert.deepEqual(store.db.pragma('foreign_key_check'), []);
    assert.ok(['tasks_open', 'tasks_project'].every((i) => indexes(store.db).includes(i)));
    assert.deepEqual(store.db.prepare('SELECT id, kind, done_count, gold FROM tasks ORDER BY id').all(), [
      { id: 5, kind: 'pair', done_count: 1, gold: null },
      { id: 9, kind: 'pair', done_count: 0, gold: '[1,0]' },
    ]);
    assert.equal((await store.getTask(5))!.kind, 'pair');
    assert.match(
      (store.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'judgments'").get() as { sql: string }).sql,
      /REFERENCES tasks\(id\)/,
      'judgments still refer to tasks',
    );
    assert.throws(
      () =>
        store.db
          .prepare(
            'INSERT INTO judgments (task_id, labeler_id, submission_id, status, shown, created_at) VALUES ' +
              "(99, 7, 'x', 'done', '[0]', 'now')",
          )
          .run(),
      /FOREIGN KEY/,
      'and the reference is enforced',
    );
    assert.equal((await store.nextTask(1, 7))!.taskId, 9, 'the lease taken before the upgrade holds');
    const [t] = await store.addTasks(1, [{ kind: 'thumbs', prompt: 'q', completions: ['one'] }]);
    assert.deepEqual((await store.getTask(t))!.completions, ['one']);
    assert.throws(
      () =>
        store.db
          .prepare(
            "INSERT INTO tasks (project_id, kind, prompt, completions, created_at) VALUES (1, 'thumbs', 'q', " +
              '\'["a","b"]\', \'now\')',
          )
          .run(),
      /CHECK/,
      'a thumbs task of two completions is refused by the table itself',
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a database newer than the code is refused, untouched', () => {
  const db = new Database(':memory:');
  migrate(db);
  db.prepare("INSERT INTO schema_migrations VALUES (?, 'future', '2030-01-01')").run(SCHEMA_VERSION + 1);
  assert.throws(
    () => migrate(db),
    new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this rlhf knows \\(${SCHEMA_VERSION}\\)`),
  );
  assert.equal(
    (db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n,
    SCHEMA_VERSION + 1,
    'untouched',
  );
  db.close();
});

test('both backends have the same migration versions and names', () => {
  assert.deepEqual(
    PG_MIGRATIONS.map((m) => [m.version, m.name]),
    MIGRATIONS.map((m) => [m.version, m.name]),
  );
});
