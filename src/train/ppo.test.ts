import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCheckpoint } from '../model/checkpoint.js';
import { defaultPPOConfig, trainPPO } from './ppo.js';
import { countA, letterPolicy } from './test-fixtures.js';

describe('PPO', () => {
  it('raises a known reward (more "a") with a bounded KL to the reference, and logs the PPO metrics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-ppo-'));
    const { model, tok: tokenizer } = letterPolicy();
    const reward = countA;
    const out = join(dir, 'ppo');
    const r = await trainPPO(
      model,
      tokenizer,
      [' b', ' c', ' d e', ' e'],
      reward,
      {
        ...defaultPPOConfig,
        outDir: out,
        iterations: 12,
        rolloutBatch: 32,
        minibatch: 8,
        ppoEpochs: 4,
        lr: 1e-3,
        initKL: 0.02,
        targetKL: 0,
        maxNewTokens: 4,
        quiet: true,
      },
      () => {},
    );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const early = mean(r.scores.slice(0, 3)),
      late = mean(r.scores.slice(-3));
    assert.ok(
      late > early + 0.5,
      `score ${early.toFixed(2)} → ${late.toFixed(2)}: ${r.scores.map((s) => s.toFixed(2)).join(' ')}`,
    );
    assert.ok(
      r.kl.every((k) => Number.isFinite(k) && k > -0.05 && k < 10),
      `KL ${r.kl.map((k) => k.toFixed(2)).join(' ')}`,
    );
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 12);
    for (const key of [
      'objective/kl',
      'objective/entropy',
      'objective/scores',
      'ppo/clipfrac',
      'ppo/approxkl',
      'ppo/val/error',
      'ppo/val/clipfrac',
      'ppo/returns/mean',
      'objective/kl_coef',
    ]) {
      assert.ok(Number.isFinite(lines[11][key]), `${key} logged`);
    }
    assert.ok(existsSync(join(out, 'model.safetensors')));
    assert.ok(loadCheckpoint(out).heads.has('v_head.summary'));
  });

  it('under the adaptive controller, β rises while KL is over target and KL comes back toward the target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-ppo-kl-'));
    const { model, tok: tokenizer } = letterPolicy();
    const reward = countA;
    const out = join(dir, 'ppo');
    const target = 2;
    const r = await trainPPO(
      model,
      tokenizer,
      [' b', ' c', ' d e', ' e'],
      reward,
      {
        ...defaultPPOConfig,
        outDir: out,
        iterations: 16,
        rolloutBatch: 32,
        minibatch: 8,
        ppoEpochs: 4,
        lr: 1e-3,
        initKL: 0.5,
        targetKL: target,
        horizon: 32,
        maxNewTokens: 4,
        quiet: true,
      },
      () => {},
    );
    const coef = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)['objective/kl_coef'] as number);
    const peak = r.kl.indexOf(Math.max(...r.kl));
    assert.ok(r.kl[peak] > target, `KL peaked at ${r.kl[peak]}`);
    assert.ok(coef[peak + 1] > coef[peak], 'β rises after an iteration over target');
    const late = r.kl.slice(-4).reduce((a, b) => a + b, 0) / 4;
    assert.ok(
      late > 0.5 * target && late < 1.5 * target && late < r.kl[peak],
      `late KL ${late.toFixed(2)} vs target ${target}: ${r.kl.map((k) => k.toFixed(2)).join(' ')}`,
    );
  });
});
