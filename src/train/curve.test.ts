import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { Comparison } from '../data/comparison.js';
import { defaultSizes, rewardCurve } from './curve.js';
import { defaultRewardConfig } from './reward-config.js';

describe('reward scaling curve', () => {
  it('trains one model per size on nested subsets and writes a table, JSONL and an SVG plot', async () => {
    assert.deepEqual(defaultSizes(800), [100, 200, 400, 800]);
    const rng = new RNG(3);
    const data: Comparison[] = Array.from({ length: 260 }, (_, i) => {
      const win = rng.uniform() < 0.5 ? 0 : 1;
      const completions = win === 0 ? [' good cat', ' bad cat'] : [' bad dog', ' good dog'];
      return { prompt: `P${i}:`, completions, ranking: [win, 1 - win] };
    });
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-curve-'));
    const cfg = {
      ...defaultRewardConfig,
      preset: 'tiny',
      vocabSize: 270,
      contextLength: 12,
      batchSize: 16,
      lr: 3e-3,
      warmupSteps: 2,
      evalEvery: 0,
      quiet: true,
      epochs: 2,
      outDir: dir,
    };
    const points = await rewardCurve(data.slice(0, 200), data.slice(200), cfg, ['tiny'], [20, 200], () => {});
    assert.equal(points.length, 2);
    assert.deepEqual(
      points.map((p) => p.train_comparisons),
      [20, 200],
    );
    assert.ok(points[1].eval_accuracy >= points[0].eval_accuracy);
    assert.match(readFileSync(join(dir, 'curve.svg'), 'utf8'), /^<svg/);
    assert.equal(readFileSync(join(dir, 'curve.jsonl'), 'utf8').trim().split('\n').length, 2);
    assert.ok(existsSync(join(dir, 'curve.md')));
  });
});
