// Opening a SQLite store checks the file and says what is wrong with it: random bytes, a file another
// process keeps locked, a damaged index page. Each message names the file and says what to do.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openStore } from './open.js';
import { SqliteFeedbackStore } from './sqlite.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rlhf-open-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A child process holding the file: `write` = an ordinary write lock, `exclusive` = no reader may open it. */
async function hold(file: string, how: 'write' | 'exclusive') {
  const lock =
    how === 'exclusive'
      ? "d.pragma('locking_mode = EXCLUSIVE'); d.exec('CREATE TABLE IF NOT EXISTS held (x)');"
      : "d.exec('BEGIN IMMEDIATE');";
  const code = `const D = require('better-sqlite3'); const d = new D(process.argv[1]);
${lock}
process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code, file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`the holder exited (${c})`)));
  });
  return () =>
    new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGKILL');
    });
}

test('a file of random bytes: named, "not a SQLite database", and what to give instead', async () => {
  const file = join(dir, 'random.db');
  writeFileSync(file, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251)));
  await assert.rejects(
    openStore(file),
    (e: Error) =>
      e.message.startsWith(`${file} is not a SQLite database (file is not a database): give --database`) &&
      /path of a file that does not exist yet/.test(e.message),
  );
});

test(
  'a file another process keeps locked: opened at once when only its write lock is held; else named, with what to ' +
    'do',
  async () => {
    const file = join(dir, 'locked.db');
    const s = new SqliteFeedbackStore(file);
    await s.createProject('p');
    await s.close();
    let release = await hold(file, 'write');
    try {
      const t0 = performance.now();
      const store = await openStore(file, { busyTimeoutMs: 300 });
      assert.ok(performance.now() - t0 < 250, 'no wait: an up-to-date store needs no write lock to open');
      assert.equal((await store.listProjects()).length, 1, 'and reads work');
      await assert.rejects(store.createProject('q'), /locked by another process/);
      await store.close();
    } finally {
      await release();
    }
    release = await hold(file, 'exclusive');
    try {
      const t0 = performance.now();
      await assert.rejects(
        openStore(file, { busyTimeoutMs: 300 }),
        (e: Error) =>
          e.message.startsWith(
            `the feedback store ${file} is locked by another process and stayed locked for 300 ms`,
          ) && /close it, then start again/.test(e.message),
      );
      assert.ok(performance.now() - t0 < 2000);
    } finally {
      await release();
    }
  },
);

test(
  'a damaged index page is found at start (PRAGMA quick_check), naming the file, the index and the ' + 'repair',
  async () => {
    const file = join(dir, 'damaged.db');
    const s = new SqliteFeedbackStore(file);
    const p = await s.createProject('p');
    await s.addTasks(
      p.id,
      Array.from({ length: 300 }, (_, i) => ({ prompt: `p${i}`, completions: [`a${i}`, `b${i}`] })),
    );
    await s.close(); // the last connection folds the WAL into the file
    const db = new Database(file, { readonly: true });
    const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'tasks_project'").get() as {
      rootpage: number;
    };
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.close();
    const fd = openSync(file, 'r+');
    // the cell pointers of the index's root page
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (rootpage - 1) * pageSize + 8);
    closeSync(fd);
    await assert.rejects(
      openStore(file),
      (e: Error) =>
        e.message.startsWith(
          `the feedback store ${file} is damaged: PRAGMA quick_check reports Tree ${rootpage} page`,
        ) &&
        e.message.includes('(in index tasks_project)') &&
        e.message.endsWith(`rebuild the indexes from the tables: sqlite3 ${file} "REINDEX"`),
    );
    const fixed = new Database(file);
    fixed.exec('REINDEX');
    fixed.close();
    const again = await openStore(file);
    assert.equal((await again.projectStats(p.id)).tasks, 300, 'the advice works: REINDEX, and the store opens');
    await again.close();
  },
);

test('a new store file, and its -wal and -shm files, can be read by their owner only (0600)', async () => {
  const file = join(dir, 'private.db');
  const old = process.umask(0o022);
  try {
    const store = await openStore(file);
    await store.createProject('p');
    for (const f of [file, `${file}-wal`, `${file}-shm`])
      assert.equal((statSync(f).mode & 0o777).toString(8), '600', f);
    await store.close();
  } finally {
    process.umask(old);
  }
});
