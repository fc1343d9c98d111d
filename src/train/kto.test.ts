import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { UnpairedItem } from '../data/formats/trl-unpaired.js';
import { RNG } from '../engine/rng.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { weightAdvice } from './kto-config.js';
import { defaultKTOConfig, encodeKTORows, mismatchedPairs, trainKTO } from './kto.js';
import { frozenReference, policyLogProbs, sums } from './reference.js';
import { letterPolicy } from './test-fixtures.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rlhf-kto-'));
const quiet = () => {};
const prompts = [' b', ' c', ' d e', ' e', ' b c'];

/** Thumbs up for completions full of "a", down for those without: a task one class of tokens separates. */
function rows(n: number, seed: number): UnpairedItem[] {
  const rng = new RNG(seed);
  const letters = (pA: number) =>
    Array.from({ length: 4 }, () => ' ' + (rng.uniform() < pA ? 'a' : 'bcde'[rng.int(4)])).join('');
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2 === 0;
    return { prompt: prompts[i % 5], completion: letters(label ? 0.8 : 0), label };
  });
}

const metricLines = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('KTO', () => {
  it("raises the log-probs of desirable completions relative to undesirable ones, logging TRL's metrics", () => {
    const { model, tok } = letterPolicy();
    const held = rows(40, 9);
    const gap = () => {
      const ref = frozenReference(model, tok);
      const r = encodeKTORows(model, tok, held, { maxLength: 64 }, ref);
      const lp = sums(
        policyLogProbs(
          model,
          tok,
          r.map((x) => x.pair),
        ),
      );
      const mean = (want: boolean) => {
        const xs = lp.filter((_, i) => r[i].desirable === want);
        return xs.reduce((a, b) => a + b, 0) / xs.length;
      };
      return mean(true) - mean(false);
    };
    const before = gap();
    const outDir = join(tmp(), 'kto');
    const r = trainKTO(
      model,
      tok,
      rows(160, 2),
      held,
      { ...defaultKTOConfig, outDir, beta: 0.5, epochs: 2, batchSize: 16, lr: 3e-3, warmupSteps: 2, quiet: true },
      quiet,
    );
    const after = gap();
    assert.ok(after > before + 2, `desirable − undesirable log-prob gap ${before} → ${after} nats`);
    // The first batch starts at the reference: every log-ratio and z0 are 0, so each row's loss is 1 − σ(0).
    assert.ok(Math.abs(r.firstLoss - 0.5) < 1e-4, `first loss ${r.firstLoss}`);
    assert.ok(r.finalLoss < r.firstLoss, `loss ${r.firstLoss} → ${r.finalLoss}`);
    assert.ok(r.eval['eval/rewards/margins'] > 0, JSON.stringify(r.eval));
    const lines = metricLines(outDir);
    assert.equal(lines[0].kl, 0, 'z0 is 0 at the start');
    for (const k of ['kl', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'logps/chosen', 'logps/rejected'])
      assert.ok(Number.isFinite(lines.at(-1)[k]), `${k} logged`);
    assert.ok(
      lines.some((l) => l.kl > 0),
      'the reference point rises as the policy moves',
    );
    assert.deepEqual([r.trainRows, r.desirable, r.undesirable, r.evalRows], [160, 80, 80, 40]);
    assert.equal(loadCheckpoint(outDir).meta.trainer, 'kto');
  });

  it('apo_zero_unpaired trains without a reference point', () => {
    const { model, tok } = letterPolicy();
    const outDir = join(tmp(), 'apo');
    const r = trainKTO(
      model,
      tok,
      rows(32, 3),
      [],
      { ...defaultKTOConfig, outDir, lossType: 'apo_zero_unpaired', batchSize: 8, steps: 4, lr: 3e-3, quiet: true },
      quiet,
    );
    assert.ok(Number.isFinite(r.finalLoss));
    assert.ok(metricLines(outDir).every((l) => l.kl === 0));
  });

  it("pairs each row's prompt with the previous row's completion, fitted to the context", () => {
    const row = (p: number[], c: number[]) => ({ pair: { prompt: p, completion: c }, desirable: true, ref: 0 });
    const kl = mismatchedPairs([row([1, 2, 3], [4]), row([5], [6, 7]), row([8, 9], [10, 11, 12])], 4);
    assert.deepEqual(kl, [
      { prompt: [2, 3], completion: [10, 11, 12] },
      { prompt: [5], completion: [4] },
      { prompt: [8, 9], completion: [6, 7] },
    ]);
  });

  it('resumed after 2 steps, the same run as 4 in one go (a full run: its reference is a copy of --init)', () => {
    const root = tmp();
    const cfg = (outDir: string) => ({
      ...defaultKTOConfig,
      outDir,
      batchSize: 4,
      steps: 4,
      lr: 1e-2,
      warmupSteps: 1,
      evalEvery: 0,
      quiet: true,
    });
    const data = rows(12, 4);
    trainKTO(letterPolicy().model, letterPolicy().tok, data, [], cfg(join(root, 'whole')), quiet);
    trainKTO(letterPolicy().model, letterPolicy().tok, data, [], { ...cfg(join(root, 'split')), stopAfter: 2 }, quiet);
    trainKTO(letterPolicy().model, letterPolicy().tok, data, [], { ...cfg(join(root, 'split')), resume: true }, quiet);
    const a = loadCheckpoint(join(root, 'whole')).model,
      b = loadCheckpoint(join(root, 'split')).model;
    a.params.forEach((p, i) => assert.deepEqual(b.params[i].data, p.data, p.name));
    const strip = (ls: Record<string, number>[]) => ls.map(({ 'train/tokens_per_s': _, ...rest }) => rest);
    assert.deepEqual(strip(metricLines(join(root, 'split'))), strip(metricLines(join(root, 'whole'))));
  });

  it('says what is wrong with impossible settings and unbalanced weights', () => {
    const { model, tok } = letterPolicy();
    const run = (o: object, data = rows(8, 1)) =>
      trainKTO(model, tok, data, [], { ...defaultKTOConfig, outDir: tmp(), steps: 1, quiet: true, ...o }, quiet);
    assert.throws(() => run({ batchSize: 1 }), /batchSize \(--batch-size\) must be at least 2 with the kto loss/);
    assert.throws(() => run({ desirableWeight: 0, undesirableWeight: 0 }), /both 0: nothing would be learned/);
    assert.throws(() => run({}, rows(1, 1)), /needs at least 2 training rows/);
    const logs: string[] = [];
    trainKTO(
      model,
      tok,
      rows(8, 1).map((r) => ({ ...r, label: true })),
      [],
      { ...defaultKTOConfig, outDir: tmp(), steps: 1, quiet: true },
      (m) => logs.push(m),
    );
    assert.ok(
      logs.some((m) => /warning: every training row is labeled true/.test(m)),
      logs.join('\n'),
    );
    // 30 desirable, 10 undesirable: λ_D·30/(λ_U·10) should be in [1, 4/3].
    assert.match(
      weightAdvice(30, 10, { desirableWeight: 1, undesirableWeight: 1 })!,
      /EITHER --desirable-weight in \[0\.33, 0\.44\] OR --undesirable-weight in \[2\.26, 3\]/,
    );
    assert.equal(weightAdvice(30, 10, { desirableWeight: 0.4, undesirableWeight: 1 }), null);
    assert.equal(weightAdvice(10, 10, { desirableWeight: 1, undesirableWeight: 1 }), null);
  });
});
