// best/ by hand: which evaluation's checkpoint is promoted, and when.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BestKeeper } from './monitor-best.js';

test('BestKeeper: best/ gets the checkpoint whose 3-point moving mean is the highest, once it is final', () => {
  const out = mkdtempSync(join(tmpdir(), 'rlhf-best-'));
  let current = 0;
  // The "checkpoint" is a file naming the step it was saved at.
  const keeper = new BestKeeper(out, (dir) => writeFileSync(join(dir, 'weights.txt'), String(current)));
  const values: number[] = [],
    steps: number[] = [];
  const observe = (step: number, v: number) => {
    current = step;
    values.push(v);
    steps.push(step);
    keeper.observe(values, steps);
  };
  const held = () => Number(readFileSync(join(out, 'best', 'weights.txt'), 'utf8'));
  // Signal at steps 0, 2, 4, 6, 8: 0, 3, 0, 6, 0. Moving means: 1.5, 1, 3, 2, 3.
  observe(0, 0);
  assert.equal(keeper.step, null, 'nothing is final after one evaluation');
  observe(2, 3);
  assert.equal(keeper.step, 0, "step 0's mean (0 + 3)/2 = 1.5 is final");
  assert.equal(held(), 0);
  observe(4, 0);
  assert.equal(keeper.step, 0, "step 2's mean (0 + 3 + 0)/3 = 1 is lower");
  observe(6, 6);
  assert.equal(keeper.step, 4, "step 4's mean (3 + 0 + 6)/3 = 3");
  assert.equal(held(), 4);
  observe(8, 0);
  assert.equal(keeper.step, 4, "step 6's mean 2 is lower");
  keeper.finish(values, 8);
  // Step 8's two-point mean (6 + 0)/2 = 3 ties step 4's: the first stays.
  assert.equal(keeper.step, 4);
  assert.equal(held(), 4);
  assert.equal(JSON.parse(readFileSync(join(out, 'best', 'monitor.json'), 'utf8')).step, 4);
  // A run whose last evaluation is its best puts that one in best/ at the end.
  observe(10, 100);
  keeper.finish(values, 10);
  assert.equal(keeper.step, 10);
  assert.equal(held(), 10);
  assert.ok(!existsSync(join(out, 'monitor', 'previous')), 'promoted, not copied');
  keeper.clear();
  assert.ok(!existsSync(join(out, 'best')));
});
