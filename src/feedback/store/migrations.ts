// The SQLite schema as numbered migrations. A database records the versions applied in
// schema_migrations; migrate() applies the missing ones in order, all in one immediate transaction (so
// two processes opening a new file at once cannot both apply them), and a newer rlhf opens an older
// database. postgres-migrations.ts has the same versions for PostgreSQL.
// NOTE: never edit a released migration; add the next one, to both backends.

import type Database from 'better-sqlite3';
import { shownOrder } from './tokens.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** A SQLite migration; `fill` runs after its SQL, in the same transaction, for data SQL cannot compute. */
export interface SqliteMigration extends Migration {
  fill?: (db: Database.Database) => void;
  /**
   * The migration rebuilds a table that others refer to (SQLite cannot change a CHECK in place), by the
   * procedure of sqlite.org/lang_altertable.html: foreign keys are off while it runs (a pragma that
   * cannot change inside a transaction, so migrate() sets it around the transaction) and every
   * reference is checked (foreign_key_check) before the commit.
   */
  rebuilds?: boolean;
}

export const MIGRATIONS: SqliteMigration[] = [
  {
    version: 1,
    name: 'projects, users, members, tasks, judgments',
    sql: `
      CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        settings TEXT NOT NULL CHECK (json_valid(settings)),
        created_at TEXT NOT NULL
      );
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'labeler')),
        token_sha256 TEXT NOT NULL UNIQUE,
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at TEXT NOT NULL
      );
      CREATE TABLE project_members (
        project_id INTEGER NOT NULL REFERENCES projects(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        PRIMARY KEY (project_id, user_id)
      );
      CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        prompt TEXT NOT NULL,
        completions TEXT NOT NULL CHECK (json_valid(completions) AND json_array_length(completions) >= 2),
        gold TEXT CHECK (gold IS NULL OR json_valid(gold)),
        meta TEXT CHECK (meta IS NULL OR json_valid(meta)),
        created_at TEXT NOT NULL
      );
      CREATE TABLE judgments (
        id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        labeler_id INTEGER NOT NULL REFERENCES users(id),
        submission_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'skipped', 'flagged')),
        choice INTEGER CHECK (choice IS NULL OR choice BETWEEN 1 AND 9),
        ranking TEXT CHECK (ranking IS NULL OR json_valid(ranking)),
        shown TEXT NOT NULL CHECK (json_valid(shown)),
        axes TEXT CHECK (axes IS NULL OR json_valid(axes)),
        feedback TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (labeler_id, submission_id),
        UNIQUE (task_id, labeler_id)
      );`,
  },
  {
    version: 2,
    name: 'indexes for nextTask, stats and exports',
    sql: `
      CREATE INDEX tasks_project ON tasks (project_id, id);
      CREATE INDEX judgments_task_status ON judgments (task_id, status);
      CREATE INDEX project_members_user ON project_members (user_id);`,
  },
  {
    version: 3,
    name: 'task leases and done counts',
    // task_leases: one per (project, labeler): the task nextTask handed them, and until when its place
    // is kept (ISO-8601 UTC text of one fixed format: compares correctly as text).
    // tasks.done_count: done judgments by enabled labelers, kept by submitJudgment and disableUser, so
    // nextTask finds open tasks through tasks_open instead of counting every task's judgments.
    sql: `
      CREATE TABLE task_leases (
        project_id INTEGER NOT NULL REFERENCES projects(id),
        labeler_id INTEGER NOT NULL REFERENCES users(id),
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        expires_at TEXT NOT NULL,
        PRIMARY KEY (project_id, labeler_id)
      );
      CREATE INDEX task_leases_task ON task_leases (task_id, expires_at);
      ALTER TABLE tasks ADD COLUMN done_count INTEGER NOT NULL DEFAULT 0;
      UPDATE tasks SET done_count = (SELECT count(*) FROM judgments j JOIN users u ON u.id = j.labeler_id
                                     WHERE j.task_id = tasks.id AND j.status = 'done' AND u.disabled = 0);
      CREATE INDEX tasks_open ON tasks (project_id, done_count, id) WHERE gold IS NULL;`,
  },
  {
    version: 4,
    name: 'assignments: the tasks handed to each labeler, in the order shown',
    // One row per (task, labeler) that nextTask handed out, kept after the lease ends: a submission
    // must match one, in its display order. Leases of an older version become assignments, in the
    // order that version showed (shownOrder), so labelers at work during an upgrade lose nothing.
    sql: `
      CREATE TABLE assignments (
        task_id INTEGER NOT NULL REFERENCES tasks(id),
        labeler_id INTEGER NOT NULL REFERENCES users(id),
        shown TEXT NOT NULL CHECK (json_valid(shown)),
        created_at TEXT NOT NULL,
        PRIMARY KEY (task_id, labeler_id)
      );`,
    fill: (db) => {
      const leases = db
        .prepare(`SELECT l.task_id, l.labeler_id, json_array_length(t.completions) AS k FROM task_leases l
          JOIN tasks t ON t.id = l.task_id`)
        .all() as { task_id: number; labeler_id: number; k: number }[];
      const add = db.prepare(
        'INSERT OR IGNORE INTO assignments (task_id, labeler_id, shown, created_at) VALUES (?, ?, ?, ?)',
      );
      const now = new Date().toISOString();
      for (const l of leases)
        add.run(l.task_id, l.labeler_id, JSON.stringify(shownOrder(l.task_id, l.labeler_id, l.k)), now);
    },
  },
  {
    version: 5,
    name: 'task kinds: thumbs up or down, or a 1–7 rating, of one completion',
    // tasks.kind: pair (as before), thumbs or likert; a pair still has ≥ 2 completions, the others
    // exactly one, which the CHECK of version 1 (≥ 2 for every task) forbade: so the table is rebuilt,
    // with its columns in the same order and kind last (as PostgreSQL's ADD COLUMN puts it), and its
    // indexes made again. judgments.thumb and judgments.rating hold the single-output answers.
    rebuilds: true,
    sql: `
      CREATE TABLE tasks_v5 (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id),
        prompt TEXT NOT NULL,
        completions TEXT NOT NULL CHECK (json_valid(completions) AND json_type(completions) = 'array'),
        gold TEXT CHECK (gold IS NULL OR json_valid(gold)),
        meta TEXT CHECK (meta IS NULL OR json_valid(meta)),
        created_at TEXT NOT NULL,
        done_count INTEGER NOT NULL DEFAULT 0,
        kind TEXT NOT NULL DEFAULT 'pair' CHECK (kind IN ('pair', 'thumbs', 'likert')),
        CHECK (CASE kind WHEN 'pair' THEN json_array_length(completions) >= 2
                         ELSE json_array_length(completions) = 1 END)
      );
      INSERT INTO tasks_v5 (id, project_id, prompt, completions, gold, meta, created_at, done_count)
        SELECT id, project_id, prompt, completions, gold, meta, created_at, done_count FROM tasks;
      DROP TABLE tasks;
      ALTER TABLE tasks_v5 RENAME TO tasks;
      CREATE INDEX tasks_project ON tasks (project_id, id);
      CREATE INDEX tasks_open ON tasks (project_id, done_count, id) WHERE gold IS NULL;
      ALTER TABLE judgments ADD COLUMN thumb TEXT CHECK (thumb IS NULL OR thumb IN ('up', 'down'));
      ALTER TABLE judgments ADD COLUMN rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 7);`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** The versions recorded in the database (none for a new one). */
export function appliedVersions(db: Database.Database): number[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!exists) return [];
  return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map(
    (r) => r.version,
  );
}

/**
 * Applies the missing migrations up to `to` (default: all) in one immediate transaction; returns the
 * versions applied. A database newer than this code is refused rather than touched.
 */
export function migrate(db: Database.Database, to = SCHEMA_VERSION): number[] {
  // Up to date: nothing to write, so no write lock to wait for (another process may hold it).
  const applied = appliedVersions(db);
  if (
    applied.length &&
    MIGRATIONS.every((m) => m.version > to || applied.includes(m.version)) &&
    Math.max(...applied) <= SCHEMA_VERSION
  )
    return [];
  const rebuilds = MIGRATIONS.some((m) => m.rebuilds && m.version <= to && !applied.includes(m.version));
  const run = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const have = new Set(appliedVersions(db));
    const newest = Math.max(0, ...have);
    if (newest > SCHEMA_VERSION) {
      throw new Error(
        `the feedback database is at schema version ${newest}, newer than this rlhf knows (${SCHEMA_VERSION}); ` +
          `upgrade rlhf to open it`,
      );
    }
    const done: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version > to || have.has(m.version)) continue;
      db.exec(m.sql);
      m.fill?.(db);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
      done.push(m.version);
    }
    const broken = rebuilds ? (db.pragma('foreign_key_check') as { table: string; parent: string }[]) : [];
    if (broken.length)
      throw new Error(
        `migrating the feedback database left ${broken.length} broken reference(s) (first: ${broken[0].table} → ` +
          `${broken[0].parent}); nothing was changed. Check the file with sqlite3's PRAGMA foreign_key_check`,
      );
    return done;
  });
  // NOTE: foreign_keys is a no-op inside a transaction; set it around the transaction, and back.
  const fk = rebuilds && (db.pragma('foreign_keys', { simple: true }) as number) === 1;
  if (fk) db.pragma('foreign_keys = OFF');
  try {
    return run.immediate();
  } finally {
    if (fk) db.pragma('foreign_keys = ON');
  }
}
