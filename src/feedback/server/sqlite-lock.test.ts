// Another process holding the SQLite file's write lock: the server keeps answering (health at once,
// reads too), and a request that needs the lock gets 503 busy with Retry-After once the store's wait
// runs out, instead of a frozen event loop and a 500.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteFeedbackStore } from '../store/sqlite.js';
import { errorOf, fixture, pair } from './test-helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Holds the write lock (BEGIN IMMEDIATE) of the file given, until killed. */
const HOLD = `const D = require('better-sqlite3'); const d = new D(process.argv[1]); d.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;

test(
  'a SQLite lock held by another process: health answers at once, a write gets 503 busy with ' + 'Retry-After',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-lock-'));
    const file = join(dir, 'feedback.db');
    const f = await fixture({}, undefined, new SqliteFeedbackStore(file, { busyTimeoutMs: 800 }));
    const holder = spawn(process.execPath, ['-e', HOLD, file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await f.store.addTasks(f.project, [pair(1)]);
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
      });
      // The longest the event loop stands still while the write waits for the lock.
      let gap = 0;
      let last = performance.now();
      const probe = setInterval(() => {
        gap = Math.max(gap, performance.now() - last);
        last = performance.now();
      }, 5);
      const t0 = performance.now();
      const pending = f.call('GET', `/api/projects/${f.project}/next`, f.tokens.ann);
      await new Promise((r) => setTimeout(r, 100));
      const h0 = performance.now();
      const health = await f.call('GET', '/api/health');
      const healthMs = performance.now() - h0;
      const me = await f.call('GET', '/api/me', f.tokens.ann);
      const r = await pending;
      const waited = performance.now() - t0;
      clearInterval(probe);
      assert.equal(health.statusCode, 200);
      assert.equal(me.statusCode, 200, 'reads (the token check) go on');
      assert.ok(healthMs < 250, `health answered in ${healthMs.toFixed(0)} ms while the lock was held`);
      assert.ok(gap < 250, `the event loop stood still for at most ${gap.toFixed(0)} ms`);
      assert.equal(r.statusCode, 503, r.body);
      assert.equal(errorOf(r).code, 'busy');
      assert.equal(r.headers['retry-after'], '1');
      assert.ok(errorOf(r).message.includes(file), errorOf(r).message);
      assert.match(errorOf(r).message, /locked by another process .* try again in a moment/);
      assert.ok(waited >= 700 && waited < 2500, `answered after ${waited.toFixed(0)} ms (the store waits 800 ms)`);
      assert.ok(r.headers['content-security-policy'], 'with the security headers');
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) =>
        holder.exitCode === null && holder.signalCode === null ? holder.once('exit', r) : r(0),
      );
    }
    const after = await f.call('GET', `/api/projects/${f.project}/next`, f.tokens.ann);
    assert.equal(after.statusCode, 200, 'the lock released, the task is served');
    await f.store.close();
    rmSync(dir, { recursive: true, force: true });
  },
);
