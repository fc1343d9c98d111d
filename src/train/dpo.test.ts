import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { Comparison } from '../data/comparison.js';
import { generate } from '../runtime/sample.js';
import { defaultDPOConfig, encodeDPOPairs, trainDPO } from './dpo.js';
import { letterPolicy } from './test-fixtures.js';

describe('DPO', () => {
  it('moves the policy toward the preferred completions (more "a") and reports TRL\'s metrics', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-dpo-'));
    const { model, tok } = letterPolicy();
    const rng = new RNG(2);
    const letters = (n: number, pA: number) =>
      Array.from({ length: n }, () => ' ' + (rng.uniform() < pA ? 'a' : 'bcde'[rng.int(4)])).join('');
    const prompts = [' b', ' c', ' d e', ' e', ' b c'];
    const comps: Comparison[] = Array.from({ length: 160 }, (_, i) => ({
      prompt: prompts[i % 5],
      completions: [letters(4, 0.8), letters(4, 0)],
      ranking: [0, 1],
    }));
    const countA = () => {
      const gens = generate(
        model,
        Array.from({ length: 40 }, (_, i) => tok.encode(prompts[i % 5])),
        { maxNewTokens: 4, seed: 9, vocabSize: tok.vocabSize },
      );
      return gens.reduce((a, g) => a + (tok.decode(g.tokens).match(/a/g) ?? []).length, 0) / 40;
    };
    const before = countA();
    const r = trainDPO(
      model,
      tok,
      comps.slice(0, 140),
      comps.slice(140),
      {
        ...defaultDPOConfig,
        outDir: join(dir, 'dpo'),
        beta: 0.5,
        epochs: 3,
        batchSize: 16,
        lr: 3e-3,
        warmupSteps: 2,
        evalEvery: 0,
        quiet: true,
      },
      () => {},
    );
    const after = countA();
    assert.ok(Number.isFinite(r.finalLoss) && r.finalLoss < r.firstLoss, `loss ${r.firstLoss} → ${r.finalLoss}`);
    assert.ok(Math.abs(r.firstLoss - Math.LN2) < 1e-3, 'the first step starts at the reference: loss log 2');
    assert.ok(r.eval['eval/rewards/accuracies'] > 0.8, JSON.stringify(r.eval));
    assert.ok(after > before + 0.5, `"a" per sample ${before} → ${after}`);
  });

  it('fits each pair to --max-length (the prompt cut from its start), and never past the context', () => {
    const { model, tok } = letterPolicy();
    const long = Array.from({ length: 80 }, (_, i) => ' ' + 'abcde'[i % 5]).join('');
    const comps: Comparison[] = [{ prompt: long, completions: [' a b', ' c'], ranking: [0, 1] }];
    const fed = (maxLength: number) =>
      encodeDPOPairs(model, tok, comps, { ...defaultDPOConfig, maxLength }).flatMap((p) =>
        [p.chosen, p.rejected].map((x) => x.prompt.length + x.completion.length - 1),
      );
    assert.ok(long.length > model.config.nPositions, 'the prompt alone is longer than the context');
    for (const n of fed(12)) assert.ok(n <= 12, `${n} tokens fed with --max-length 12`);
    for (const n of fed(1024)) assert.equal(n, model.config.nPositions, 'capped at the context');
  });
});
