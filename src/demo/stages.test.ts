import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StageRunner, fmt } from './stages.js';

const plan = [
  { name: 'a', title: 'first', estimate: 10 },
  { name: 'b', title: 'second', estimate: 20 },
];

test('a finished stage is cached and returns the same result on a rerun', async () => {
  const root = mkdtempSync(join(tmpdir(), 'stages-'));
  const logs: string[] = [];
  let runs = 0;
  const r1 = new StageRunner(root, plan, (m) => logs.push(m));
  const v1 = await r1.run('a', (dir) => {
    runs++;
    writeFileSync(join(dir, 'out.txt'), 'x');
    return { value: 42 };
  });
  const r2 = new StageRunner(root, plan, (m) => logs.push(m));
  const v2 = await r2.run('a', () => {
    runs++;
    return { value: 0 };
  });
  assert.equal(runs, 1);
  assert.deepEqual(v2, v1);
  assert.ok(
    logs.some((l) => l.startsWith('[1/2] first: cached')),
    logs.join('\n'),
  );
  assert.ok(
    logs.some((l) => /\[1\/2\] first: done in .* left/.test(l)),
    logs.join('\n'),
  );
});

test('an interrupted stage leaves no marker and runs again from a clean directory', async () => {
  const root = mkdtempSync(join(tmpdir(), 'stages-'));
  const r1 = new StageRunner(root, plan, () => {});
  await assert.rejects(
    r1.run('b', (dir) => {
      writeFileSync(join(dir, 'partial.bin'), 'half');
      throw new Error('killed');
    }),
    /killed/,
  );
  assert.equal(r1.finished('b'), false);
  const r2 = new StageRunner(root, plan, () => {});
  const seen = await r2.run('b', (dir) => readdirSync(dir));
  assert.deepEqual(seen, [], 'the partial output of the interrupted run was cleared');
  assert.ok(existsSync(join(root, 'b', 'stage.json')));
});

test('stages outside the plan and duplicate names are refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'stages-'));
  assert.throws(() => new StageRunner(root, [...plan, plan[0]], () => {}), /planned twice/);
  await assert.rejects(
    new StageRunner(root, plan, () => {}).run('c', () => 1),
    /not in the plan/,
  );
});

test('durations read as seconds or minutes', () => {
  assert.equal(fmt(4.25), '4.3 s');
  assert.equal(fmt(42), '42 s');
  assert.equal(fmt(125), '2 min 05 s');
});
