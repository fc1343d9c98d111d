import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dpoOptions } from '../train/dpo-config.js';
import { ppoOptions } from '../train/ppo-config.js';
import { restOptions } from '../train/rest-config.js';
import { sftOptions } from '../train/sft-config.js';
import { demoConfig, stageSettings } from './config.js';

describe('demo settings', () => {
  it("start from each trainer's declared defaults and take the preset's changes", () => {
    for (const quick of [false, true]) {
      const c = demoConfig({ task: 'positive', outDir: 'x', quick, seed: 0 });
      // Not set by the presets: the declarations' defaults.
      assert.equal(c.dpo.labelSmoothing, dpoOptions.defaults().labelSmoothing);
      assert.equal(c.ppo.gamma, ppoOptions.defaults().gamma);
      assert.equal(c.rest.epochsPerImprove, restOptions.defaults().epochsPerImprove);
      assert.equal(c.sft.batchSize, sftOptions.defaults().batchSize);
      // Set by the presets and the task.
      assert.equal(c.pretrain.preset, quick ? 'mini' : 'small');
      assert.equal(c.overoptimization.initKL, 0);
      assert.equal(c.sft.contextLength, 64);
      assert.equal(c.reward.contextLength, 64);
    }
    assert.equal(demoConfig({ task: 'tldr', outDir: 'x', quick: true, seed: 0 }).pretrain.contextLength, 128);
  });

  it("check a stage's settings with its trainer's validation, naming the stage, the field and its flag", () => {
    assert.throws(
      () => stageSettings(ppoOptions, { minibatch: 64, rolloutBatch: 32 }, 'rlhf demo, stage ppo'),
      /^Error: rlhf demo, stage ppo: minibatch \(--minibatch\) cannot exceed rolloutBatch \(--rollout-batch\)/,
    );
    assert.throws(
      () => stageSettings(restOptions, { percentiles: [90, 50] }, 'rlhf demo, stage rest'),
      /stage rest: percentiles \(--percentiles\) must be/,
    );
    assert.throws(
      () => stageSettings(dpoOptions, { beta: 0 }, 'stage dpo'),
      /stage dpo: beta \(--beta\) must be a number > 0/,
    );
  });

  it('hand each stage its own copy of list settings', () => {
    const a = demoConfig({ task: 'positive', outDir: 'x', quick: true, seed: 0 });
    a.rest.percentiles.push(99);
    assert.deepEqual(demoConfig({ task: 'positive', outDir: 'x', quick: true, seed: 0 }).rest.percentiles, [50, 75]);
  });
});
