import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { learningRate } from '../engine/optim.js';
import { type OptimConfig, scheduledLr } from './loop.js';

const cfg: OptimConfig = {
  steps: 10,
  lr: 1,
  warmupSteps: 0,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 0,
  evalEvery: 0,
  saveEvery: 0,
  seed: 0,
};

describe('scheduledLr', () => {
  it('linear: lr·(1 − progress) after warm-up, so the first step takes lr and the last lr/span', () => {
    const lrs = Array.from({ length: 10 }, (_, s) => scheduledLr(s, { ...cfg, schedule: 'linear' }));
    lrs.forEach((lr, s) => assert.ok(Math.abs(lr - (1 - s / 10)) < 1e-12, `step ${s}: ${lr}`));
    const warm = { ...cfg, schedule: 'linear' as const, warmupSteps: 2 };
    // Warm-up 0.5, 1; then 8 steps decaying: 1, 7/8, …, 1/8.
    assert.deepEqual(
      [0, 1, 2, 3, 9].map((s) => scheduledLr(s, warm)),
      [0.5, 1, 1, 7 / 8, 1 / 8],
    );
  });

  it('constant keeps lr after warm-up; cosine (the default) is the engine schedule', () => {
    const c = { ...cfg, schedule: 'constant' as const, warmupSteps: 4 };
    assert.deepEqual(
      [0, 3, 4, 9].map((s) => scheduledLr(s, c)),
      [0.25, 1, 1, 1],
    );
    for (const s of [0, 3, 7, 9])
      assert.equal(
        scheduledLr(s, { ...cfg, warmupSteps: 2 }),
        learningRate(s, { lr: 1, warmupSteps: 2, totalSteps: 10 }),
      );
  });
});
