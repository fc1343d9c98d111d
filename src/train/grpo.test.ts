import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCheckpoint } from '../model/checkpoint.js';
import { ChatTemplate } from '../model/chat-template.js';
import { assertAllClose } from '../test-support/assert-close.js';
import { type GRPOConfig, defaultGRPOConfig, trainGRPO } from './grpo.js';
import type { PromptRow } from './policy-gradient.js';
import { type ScoredText, singleRewardSet } from './reward-fn.js';
import { letterPolicy } from './test-fixtures.js';

const jsonLines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const metricLines = (dir: string): Record<string, number>[] => jsonLines(join(dir, 'metrics.jsonl'));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const quiet = () => {};
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `rlhf-grpo-${name}-`));

const base = letterPolicy();
/** The tiny task: each row's `answer` column is the letter the completion must start with. */
const rows: PromptRow[] = [' b', ' c', ' d', ' e'].map((prompt) => ({ prompt, columns: { answer: 'a' } }));
/** An exact-answer reward written as code: 1 when the completion's first word is the row's answer. */
const exact = (items: ScoredText[]) =>
  items.map((it) => (it.completion.trim().split(' ')[0] === it.columns?.answer ? 1 : 0));
const rewards = singleRewardSet(exact, 'exact');
const small = (outDir: string, o: Partial<GRPOConfig> = {}): GRPOConfig => ({
  ...defaultGRPOConfig,
  outDir,
  steps: 2,
  batchSize: 4,
  numGenerations: 4,
  maxCompletionLength: 2,
  lr: 5e-3,
  quiet: true,
  ...o,
});
const train = (cfg: GRPOConfig, r = rewards) => trainGRPO(base.model.clone(), base.tok, rows, r, cfg, quiet);

describe('GRPO', () => {
  it("raises an exact-answer reward in seconds, and logs TRL's metric names", async () => {
    const out = tmp('learn');
    const t0 = performance.now();
    const r = await train(small(out, { steps: 20, numGenerations: 8, samplesEvery: 5 }));
    const seconds = (performance.now() - t0) / 1000;
    const early = mean(r.rewards.slice(0, 3)),
      late = mean(r.rewards.slice(-3));
    const all = r.rewards.map((x) => x.toFixed(2)).join(' ');
    assert.ok(early < 0.4 && late > 0.75, `reward ${early.toFixed(2)} → ${late.toFixed(2)}: ${all}`);
    assert.ok(seconds < 30, `${seconds.toFixed(1)} s`);
    const lines = metricLines(out);
    assert.equal(lines.length, 20);
    for (const key of [
      ...['loss', 'reward', 'reward_std', 'frac_reward_zero_std', 'rewards/exact/mean', 'rewards/exact/std'],
      ...['entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean'],
      ...['completions/mean_length', 'completions/min_length', 'completions/max_length'],
      ...['completions/clipped_ratio', 'train/lr', 'train/grad_norm'],
    ])
      assert.ok(Number.isFinite(lines[19][key]), `${key} logged`);
    assert.equal(lines[0].kl, undefined, 'no KL without a reference (β = 0)');
    assert.equal(lines[19].reward, r.rewards[19]);
    const samples = jsonLines(join(out, 'samples.jsonl'));
    assert.deepEqual([...new Set(samples.map((s) => s.step))], [5, 10, 15, 20]);
    assert.equal(samples.length, 4 * 32);
    assert.deepEqual(Object.keys(samples[0]).sort(), [
      'advantage',
      'completion',
      'finish_reason',
      'prompt',
      'reward',
      'rewards',
      'step',
    ]);
    assert.equal(loadCheckpoint(out).meta.trainer, 'grpo');
  });

  it("gives the rewards each completion's row columns, a prompt's G completions side by side", async () => {
    const seen: ScoredText[] = [];
    const spy = singleRewardSet((items) => {
      seen.push(...items);
      return exact(items);
    });
    const tagged = rows.map((r, i) => ({ ...r, columns: { answer: 'a', id: i } }));
    await trainGRPO(base.model.clone(), base.tok, tagged, spy, small(tmp('cols'), { steps: 1 }), quiet);
    assert.equal(seen.length, 16);
    seen.forEach((s, i) => {
      const row = tagged.find((r) => r.prompt === s.prompt)!;
      assert.deepEqual(s.columns, row.columns, `item ${i}`);
      assert.equal(seen[Math.floor(i / 4) * 4].prompt, s.prompt, 'a group shares its prompt');
    });
  });

  it('keeps no reference with β = 0; with β > 0 logs a KL that starts at 0 and grows', async () => {
    const model = base.model.clone();
    model.clone = () => {
      throw new Error('cloned');
    };
    await trainGRPO(model, base.tok, rows, rewards, small(tmp('nobeta')), quiet);
    const out = tmp('beta');
    const r = await train(small(out, { steps: 4, beta: 0.1 }));
    assert.equal(r.kl[0], 0, 'the first batch: policy and reference are one model');
    assert.ok(r.kl[3] > 0, `KL ${r.kl.join(' ')}`);
    assert.deepEqual(
      metricLines(out).map((l) => l.kl),
      r.kl,
    );
  });

  it('clips the ratio only when a batch gets more than one update (μ > 1)', async () => {
    const clipped = async (mu: number) => {
      const out = tmp(`mu${mu}`);
      await train(small(out, { steps: 3, numIterations: mu, lr: 3e-2 }));
      return metricLines(out).map((l) => l['clip_ratio/region_mean']);
    };
    assert.deepEqual(await clipped(1), [0, 0, 0]);
    const two = await clipped(2);
    assert.ok(
      two.some((c) => c > 0),
      `μ = 2: ${two.join(' ')}`,
    );
  });

  it('--mask-truncated-completions leaves completions cut at the length limit out of the loss', async () => {
    // One token each: every completion that does not end at once is cut, so nothing is left to learn from.
    const run = async (maskTruncatedCompletions: boolean) => {
      const model = base.model.clone();
      const out = tmp(`mask${maskTruncatedCompletions}`);
      await trainGRPO(
        model,
        base.tok,
        rows,
        rewards,
        small(out, { maxCompletionLength: 1, maskTruncatedCompletions }),
        quiet,
      );
      const moved = model.params.some((p, i) => p.data.some((v, j) => v !== base.model.params[i].data[j]));
      return { moved, lines: metricLines(out) };
    };
    const masked = await run(true);
    assert.ok(
      masked.lines.every((l) => l['completions/clipped_ratio'] === 1),
      'every completion was cut',
    );
    assert.equal(masked.moved, false, 'no completion in the loss: the weights stay');
    assert.ok(masked.lines.every((l) => Number.isFinite(l.loss)));
    assert.equal((await run(false)).moved, true, 'without the option the cut completions train');
  });

  it('splits a batch into micro-batches without changing the run', async () => {
    const run = async (microBatch: number) => {
      const model = base.model.clone();
      const r = await trainGRPO(model, base.tok, rows, rewards, small(tmp('mb'), { microBatch, beta: 0.1 }), quiet);
      return { r, params: model.params.map((p) => Float32Array.from(p.data)) };
    };
    const [whole, micro] = [await run(0), await run(3)];
    assert.deepEqual(micro.r.rewards, whole.r.rewards);
    // Up to rounding: the sums are taken in another order, and Adam scales a near-zero gradient's noise up to lr.
    whole.params.forEach((p, i) => assertAllClose(micro.params[i], p, { atol: 2e-5 }));
  });

  it('2 steps, then --resume for 2 more, give the weights and metrics of 4 in one go', async () => {
    const cfg = (outDir: string) => small(outDir, { steps: 4, beta: 0.05, numIterations: 2, saveEvery: 1 });
    const whole = tmp('whole'),
      split = tmp('split');
    const a = await train(cfg(whole));
    await train({ ...cfg(split), stopAfter: 2 });
    assert.equal(metricLines(split).length, 2);
    const b = await train({ ...cfg(split), resume: true });
    assert.deepEqual(b.rewards, a.rewards);
    assert.deepEqual(b.kl, a.kl);
    assert.deepEqual(metricLines(split), metricLines(whole));
    const [ca, cb] = [loadCheckpoint(whole), loadCheckpoint(split)];
    ca.model.params.forEach((p, i) => assert.deepEqual(cb.model.params[i].data, p.data, p.name));
  });

  it('cuts completions at stop texts: the text before the stop is scored', async () => {
    const scored: ScoredText[] = [];
    const spy = singleRewardSet((items) => {
      scored.push(...items);
      return exact(items);
    });
    const out = tmp('stop');
    await trainGRPO(
      base.model.clone(),
      base.tok,
      rows,
      spy,
      small(out, { steps: 1, maxCompletionLength: 8, stop: ['c'], samplesEvery: 1 }),
      quiet,
    );
    const samples = jsonLines(join(out, 'samples.jsonl'));
    assert.ok(scored.every((s) => !s.completion.includes('c')));
    // The letter policy hardly ever writes end-of-text: a completion that stopped met the stop text.
    const cut = samples.filter((s) => s.finish_reason === 'stop');
    assert.ok(cut.length >= 3, `${cut.length} of ${samples.length} completions met the stop text`);
  });

  it('renders conversational prompts with the chat template, and refuses them without one', async () => {
    const chat: PromptRow[] = [{ prompt: [{ role: 'user', content: 'b' }], columns: { answer: 'a' } }];
    const cfg = small(tmp('chat'), { steps: 1 });
    await assert.rejects(
      trainGRPO(base.model.clone(), base.tok, chat, rewards, cfg, quiet),
      /a list of messages but the policy has no chat template/,
    );
    const seen: string[] = [];
    const spy = singleRewardSet((items) => {
      seen.push(...items.map((x) => x.prompt));
      return exact(items);
    });
    const template = ChatTemplate.plain(base.tok.idToToken(base.tok.eosId)!);
    await trainGRPO(base.model.clone(), base.tok, chat, spy, cfg, quiet, { chatTemplate: template });
    assert.equal(seen[0], template.render([{ role: 'user', content: 'b' }], { addGenerationPrompt: true }));
  });
});
