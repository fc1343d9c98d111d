import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { RNG } from '../engine/rng.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { defaultSFTConfig } from './sft-config.js';
import { trainSFT } from './sft.js';
import { defaultReSTConfig, percentile, trainReST, validateReSTConfig } from './rest.js';

describe('ReST', () => {
  it('percentiles interpolate; thresholds must rise', () => {
    assert.equal(percentile([1, 2, 3, 4, 5], 50), 3);
    assert.equal(percentile([0, 10], 25), 2.5);
    assert.throws(() => validateReSTConfig({ ...defaultReSTConfig, outDir: 'x', percentiles: [70, 50] }), /must rise/);
  });

  it('raises the mean of a known reward (more "a" in the completion) over the starting policy', async () => {
    // A starting policy that writes random letters a–e: a quick SFT on such text.
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-rest-sft-'));
    const rng = new RNG(2);
    writeFileSync(join(dir, 'letters.txt'), Array.from({ length: 3000 }, () => 'abcde'[rng.int(5)]).join(' '));
    trainSFT({ ...defaultSFTConfig, data: join(dir, 'letters.txt'), outDir: join(dir, 'sft'), preset: 'tiny', vocabSize: 262, contextLength: 32, batchSize: 16, steps: 60, lr: 1e-2, warmupSteps: 5, evalEvery: 0, quiet: true }, () => {});
    const { model: policy, tokenizer } = loadCheckpoint(join(dir, 'sft'));
    const tok = tokenizer!;
    const reward = (items: { completion: string }[]) => items.map((it) => (it.completion.match(/a/g) ?? []).length);
    const out = mkdtempSync(join(tmpdir(), 'rlhf-rest-'));
    const prompts = [' a', ' b', ' c d', ' e', ' b c', ' d e']; // in-distribution: letters after a space
    const r = await trainReST(policy, tok, prompts, reward, {
      ...defaultReSTConfig, outDir: out, grows: 2, percentiles: [50, 80], samplesPerPrompt: 16, epochsPerImprove: 3,
      maxNewTokens: 6, lr: 2e-3, batchSize: 16, contextLength: 16, quiet: true,
    }, () => {});
    assert.equal(r.meanReward.length, 3);
    assert.ok(r.meanReward[2] > r.meanReward[0] + 0.5, `mean reward ${r.meanReward.map((x) => x.toFixed(2)).join(' → ')}`);
    assert.ok(r.improves.every((s) => s.keptMeanReward >= s.threshold));
    // Reward-weighted behaviour cloning raises it too.
    const fresh = loadCheckpoint(join(dir, 'sft')).model;
    const w = await trainReST(fresh, tok, prompts, reward, {
      ...defaultReSTConfig, outDir: join(out, 'weighted'), grows: 2, percentiles: [50, 80], samplesPerPrompt: 16, epochsPerImprove: 3,
      maxNewTokens: 6, lr: 2e-3, batchSize: 16, contextLength: 16, rewardWeighted: true, quiet: true,
    }, () => {});
    assert.ok(w.meanReward[2] > w.meanReward[0] + 0.5, `reward-weighted: ${w.meanReward.map((x) => x.toFixed(2)).join(' → ')}`);
    assert.ok(existsSync(join(out, 'model.safetensors')));
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l['rest/grow'] === 2 && l['rest/improve'] === 2));
  });
});
