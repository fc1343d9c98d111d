// openStore: the location's form picks the backend; every other form is refused with the accepted ones.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FieldError } from '../../data/field-error.js';
import { openStore } from './open.js';
import { SqliteFeedbackStore } from './sqlite.js';

const fieldError = (field: string, re: RegExp) => (e: unknown) =>
  e instanceof FieldError && e.field === field && re.test(e.message);

test('a path or :memory: opens SQLite; the data is there when the file is opened again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-open-'));
  try {
    const mem = await openStore(':memory:');
    assert.ok(mem instanceof SqliteFeedbackStore);
    await mem.close();
    const file = join(dir, 'fb.db');
    const a = await openStore(file, { leaseMs: 30_000 });
    await a.createProject('p');
    await a.close();
    const b = await openStore(file);
    assert.deepEqual(
      (await b.listProjects()).map((p) => p.name),
      ['p'],
    );
    await b.close();
    await assert.rejects(
      openStore(join(dir, 'no', 'such', 'fb.db')),
      fieldError('location', /folder .* does not exist; create it first/),
    );
    await assert.rejects(openStore(dir), fieldError('location', /is a folder; give the path of a SQLite file/));
    await assert.rejects(openStore(file, { leaseMs: -1 }), fieldError('leaseMs', /must be in \[1, /));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('other forms are refused, naming the accepted ones', async () => {
  const forms = /SQLite file path .*:memory:.*postgres:\/\/user:password@host:5432\/database/;
  await assert.rejects(openStore(''), fieldError('location', forms));
  await assert.rejects(
    openStore('mysql://root:hunter2@db/x'),
    (e: unknown) => fieldError('location', forms)(e) && !(e as Error).message.includes('hunter2'),
  );
  await assert.rejects(openStore('sqlite:///tmp/x.db'), fieldError('location', forms));
  await assert.rejects(openStore(undefined as never), fieldError('location', forms));
});

test('options of the other backend, bad schema names and unreachable servers are clear errors', async () => {
  await assert.rejects(openStore(':memory:', { schema: 'x' }), fieldError('schema', /PostgreSQL stores only/));
  await assert.rejects(openStore(':memory:', { poolSize: 2 }), fieldError('poolSize', /PostgreSQL stores only/));
  const pgUrl = 'postgres://u:s3cret@127.0.0.1:1/db';
  await assert.rejects(
    openStore(pgUrl, { synchronous: 'FULL' }),
    (e: unknown) => fieldError('synchronous', /SQLite stores only/)(e) && !(e as Error).message.includes('s3cret'),
  );
  await assert.rejects(openStore(`${pgUrl}?schema=Bad-Name`), fieldError('schema', /lowercase letters, digits and _/));
  await assert.rejects(openStore(`${pgUrl}?schema=a`, { schema: 'b' }), fieldError('schema', /give one/));
  await assert.rejects(
    openStore(`${pgUrl}?schema=a&options=-c%20statement_timeout%3D5`),
    fieldError('schema', /not both/),
  );
  await assert.rejects(openStore(pgUrl, { poolSize: 0 }), fieldError('poolSize', /must be in \[1, 1000\]/));
  // Port 1: nothing listens, so the connection is refused at once.
  await assert.rejects(
    openStore(`postgresql://u:s3cret@127.0.0.1:1/db`),
    (e: Error) =>
      /^cannot connect to PostgreSQL at postgresql:\/\/u:\*\*\*@127\.0\.0\.1:1\/db: /.test(e.message) &&
      !e.message.includes('s3cret'),
  );
});
