// The SQLite backend: the conformance suite on a temporary file per test, and what only SQLite has.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteFeedbackStore } from './sqlite.js';
import { runStoreConformance, type StoreHarness } from './store-conformance.js';
import type { FeedbackStore } from './types.js';

async function makeSqlite(): Promise<StoreHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-store-'));
  const file = join(dir, 'feedback.db');
  const opened: FeedbackStore[] = [];
  return {
    location: file,
    openOptions: {},
    async open(options = {}) {
      const s = new SqliteFeedbackStore(file, options);
      opened.push(s);
      return s;
    },
    async rows(table) {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    async dispose() {
      for (const s of opened) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

runStoreConformance('SQLite', makeSqlite);

test('SQLite: a file store is in WAL mode with full fsync; :memory: works too', async () => {
  const h = await makeSqlite();
  try {
    const s = (await h.open()) as SqliteFeedbackStore;
    assert.equal((s.db.pragma('journal_mode') as { journal_mode: string }[])[0].journal_mode, 'wal');
    assert.equal((s.db.pragma('synchronous') as { synchronous: number }[])[0].synchronous, 2, 'FULL');
  } finally {
    await h.dispose();
  }
  const m = new SqliteFeedbackStore(':memory:');
  const p = await m.createProject('p');
  assert.equal((await m.getProject(p.id))!.name, 'p');
  await m.close();
});
