// Opening a SQLite feedback store: the pragmas, a check of the file at start, the migrations, and
// errors that name the file and say what to do (a file that is not a database, one that another
// process keeps locked, one that is damaged), instead of SQLite's bare "file is not a database".

import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export interface OpenOptions {
  /** How long SQLite may wait for a lock while opening (nothing is served yet). */
  busyMs: number;
  synchronous: 'FULL' | 'NORMAL';
}

/**
 * Opens, checks and migrates the store at `path`; throws an Error saying what is wrong and what to do.
 * A new file is created readable by its owner only (0600): it holds every judgment. SQLite gives its
 * -wal and -shm files the same mode.
 */
export function openSqlite(path: string, o: OpenOptions): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
    db = new Database(path, { timeout: o.busyMs });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${o.synchronous}`);
    db.pragma('foreign_keys = ON');
    checkIntact(db, path);
    migrate(db);
    return db;
  } catch (e) {
    db?.close();
    throw explain(e, path, o.busyMs);
  }
}

/**
 * PRAGMA quick_check at start: a damaged page found now is one message naming the file, instead of
 * 500s on whichever request first reads it. (Time grows with the file: a few ms per MB.)
 */
function checkIntact(db: Database.Database, path: string): void {
  const rows = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
  if (rows.length === 1 && rows[0] === 'ok') return;
  const found = rows
    .join('\n')
    .split('\n')
    .filter((l) => l && !l.startsWith('***'));
  // "Tree N" is the root page of a table or index: say which, since damaged indexes alone can be rebuilt.
  const roots = new Set([...found.join('\n').matchAll(/Tree (\d+)/g)].map((m) => Number(m[1])));
  const objects = (db.prepare('SELECT type, name, rootpage FROM sqlite_master').all() as Item[]).filter((x) =>
    roots.has(x.rootpage),
  );
  const onlyIndexes = objects.length > 0 && objects.length === roots.size && objects.every((x) => x.type === 'index');
  throw new Error(
    `the feedback store ${path} is damaged: PRAGMA quick_check reports ${found.slice(0, 3).join('; ')}` +
      `${found.length > 3 ? '; …' : ''}` +
      `${objects.length ? ` (in ${objects.map((x) => `${x.type} ${x.name}`).join(', ')})` : ''}. ` +
      'Stop every rlhf using it and keep a copy of the file, then ' +
      (onlyIndexes
        ? `rebuild the indexes from the tables: sqlite3 ${path} "REINDEX"`
        : `restore a backup, or save what can be read: sqlite3 ${path} .recover | sqlite3 recovered.db, and start ` +
          `with --database recovered.db`),
  );
}

interface Item {
  type: string;
  name: string;
  rootpage: number;
}

const CODES: Record<string, (path: string, busyMs: number) => string> = {
  SQLITE_NOTADB: (p) =>
    `${p} is not a SQLite database (file is not a database): give --database the feedback store rlhf made, ` +
    'or the path of a file that does not exist yet to start a new one',
  SQLITE_BUSY: (p, ms) =>
    `the feedback store ${p} is locked by another process and stayed locked for ${ms} ms (database is locked): ` +
    'another program holds it (a sqlite3 shell in a transaction, a backup tool, an rlhf in exclusive mode); ' +
    'close it, then start again',
  SQLITE_CORRUPT: (p) =>
    `the feedback store ${p} is damaged (database disk image is malformed): stop every rlhf using it and keep a ` +
    `copy, then restore a backup, or save what can be read: sqlite3 ${p} .recover | sqlite3 recovered.db`,
  SQLITE_CANTOPEN: (p) =>
    `cannot open the feedback store ${p}: check that its folder exists and that this user may read and write ` +
    'the file and the folder (SQLite writes -wal and -shm files beside it)',
  SQLITE_READONLY: (p) =>
    `the feedback store ${p} is read-only for this user: the service writes to it; give this user write ` +
    'permission on the file and its folder',
};

function explain(e: unknown, path: string, busyMs: number): unknown {
  const code = String((e as { code?: unknown }).code ?? '');
  const known = Object.keys(CODES).find((k) => code === k || code.startsWith(`${k}_`));
  if (!known) return e;
  const err = new Error(CODES[known](path, busyMs));
  (err as { code?: string }).code = code;
  return err;
}
