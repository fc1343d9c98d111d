import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertClose } from '../test-support/assert-close.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { RewardModel } from '../model/reward-model.js';
import { scoreRewards } from '../runtime/reward.js';
import { fitNormalization, normalizeReward, rewardNormalizeOptions, saveNormalizedReward } from './reward-normalize.js';
import { letterPolicy } from './test-fixtures.js';

describe('fitNormalization', () => {
  it('moves the mean to 0, and with std the population spread to 1 (hand-computed)', () => {
    // Scores 1, 2, 3, 6: mean 3, population variance (4 + 1 + 0 + 9)/4 = 3.5.
    const mean = fitNormalization([1, 2, 3, 6], { bias: 0, gain: 1 }, false);
    assert.deepEqual([mean.bias, mean.gain, mean.mean], [3, 1, 3]);
    assertClose(mean.std, Math.sqrt(3.5));
    const both = fitNormalization([1, 2, 3, 6], { bias: 0, gain: 1 }, true);
    assertClose(both.gain, 1 / Math.sqrt(3.5));
  });

  it('composes with the bias and gain the scores were made with', () => {
    // Made with score = 2·(raw − 1): raw = 1.5, 2, 2.5, 4, mean 2.5, spread √3.5 / 2.
    const fit = fitNormalization([1, 2, 3, 6], { bias: 1, gain: 2 }, true);
    assertClose(fit.bias, 2.5);
    assertClose(fit.gain, 2 / Math.sqrt(3.5));
    assert.throws(() => fitNormalization([1, 1, 1], { bias: 0, gain: 1 }, true), /same score \(1\)/);
  });
});

describe('normalizeReward', () => {
  it("gives the policy's samples mean 0 and std 1, saved in the checkpoint and used wherever it scores", async () => {
    const { model, tok } = letterPolicy();
    const rm = RewardModel.fromTrunk(model.clone(), tok, 32, 3); // a random score head: scores that vary
    const prompts = [' b', ' c', ' d e'];
    const o = { ...rewardNormalizeOptions.defaults(), samples: 24, maxNewTokens: 4, std: true, stop: ['e'] };
    const fit = normalizeReward(rm, model, tok, prompts, o);
    assert.ok(fit.std > 0 && rm.bias === fit.bias && rm.gain === fit.gain);
    // The same samples again (same seed), scored by the normalized model and by its saved copy.
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-rnorm-'));
    rm.save(join(dir, 'source'), { trainer: 'reward', note: 'kept' });
    const ck = loadCheckpoint(join(dir, 'source'));
    saveNormalizedReward(rm, join(dir, 'after'), ck, fit, { policy: 'sft' });
    const saved = loadCheckpoint(join(dir, 'after')).meta;
    assert.equal(saved.note, 'kept');
    assert.equal(saved.rewardGain, fit.gain);
    const again = RewardModel.load(join(dir, 'after'));
    const check = normalizeReward(again, model, tok, prompts, o);
    assertClose(check.mean, 0, 1e-5);
    assertClose(check.std, 1, 1e-5);
    // Scoring the saved checkpoint applies them too (as loadRewardFn does: RewardModel.load, then scoreRewards).
    const items = prompts.map((prompt) => ({ prompt, completion: ' a b' }));
    const viaFn = scoreRewards(RewardModel.load(join(dir, 'after')), items);
    const raw = RewardModel.load(join(dir, 'source'));
    raw.bias = 0;
    raw.gain = 1;
    scoreRewards(raw, items).forEach((r, i) => assertClose(viaFn[i], fit.gain * (r - fit.bias), 1e-5));
  });
});
