import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Graph } from '../engine/graph.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { type GPT, valueHead } from '../model/gpt.js';
import { ppoOptions } from './ppo-config.js';
import { collectRollouts } from './ppo-rollouts.js';
import { type PPOConfig, defaultPPOConfig, trainPPO } from './ppo.js';
import { countA, letterPolicy } from './test-fixtures.js';

const metricLines = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** log softmax(logits/τ) over the tokenizer's ids of token `next` after `prefix`, from one plain forward pass. */
function plainLogProb(model: GPT, prefix: number[], next: number, temperature: number, vocabSize: number): number {
  const g = Graph.inference();
  const T = (prefix.length + 3) & ~3; // NOTE: the model takes whole SIMD vectors of positions; the padding follows
  const ids = new Int32Array(T).fill(prefix[0]);
  ids.set(prefix);
  const logits = model.forward(g, ids, 1, T); // (1, T, V)
  const V = logits.shape[2],
    at = (prefix.length - 1) * V;
  const z = Array.from(logits.data.subarray(at, at + vocabSize), (x) => x / temperature);
  g.dispose();
  const m = Math.max(...z);
  return z[next] - m - Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
}

const prompts = [' b', ' c', ' d e', ' e'];
const refOf = (m: GPT) => ({ models: { policy: m.clone() }, heads: {} });
const base = letterPolicy();

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
      'policy/entropy_avg',
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

  it('2 iterations, then --resume for 2 more, give the weights, metrics and β of 4 in one go', async () => {
    const { model } = base;
    const cfg = (outDir: string): PPOConfig => ({
      ...defaultPPOConfig,
      outDir,
      iterations: 4,
      rolloutBatch: 8,
      minibatch: 4,
      ppoEpochs: 2,
      lr: 1e-3,
      warmupSteps: 3,
      initKL: 0.2,
      targetKL: 0.5,
      horizon: 16,
      maxNewTokens: 4,
      saveEvery: 1,
      quiet: true,
    });
    const dir = mkdtempSync(join(tmpdir(), 'rlhf-ppo-resume-'));
    const whole = join(dir, 'whole'),
      split = join(dir, 'split');
    const a = await trainPPO(model.clone(), base.tok, prompts, countA, cfg(whole), () => {});
    await trainPPO(model.clone(), base.tok, prompts, countA, { ...cfg(split), stopAfter: 2 }, () => {});
    assert.equal(metricLines(split).length, 2);
    const b = await trainPPO(model.clone(), base.tok, prompts, countA, { ...cfg(split), resume: true }, () => {});
    assert.deepEqual(b.scores, a.scores);
    assert.deepEqual(b.kl, a.kl);
    assert.deepEqual(metricLines(split), metricLines(whole));
    const [ca, cb] = [loadCheckpoint(whole), loadCheckpoint(split)];
    ca.model.params.forEach((p, i) => assert.deepEqual(cb.model.params[i].data, p.data, p.name));
    const [ha, hb] = [ca.heads.get('v_head.summary')!, cb.heads.get('v_head.summary')!];
    ha.params.forEach((p, i) => assert.deepEqual(hb.params[i].data, p.data, p.name));
    assert.equal(cb.meta.klCoef, ca.meta.klCoef);
    assert.notEqual(ca.meta.klCoef, 0.2, 'β moved, so its restoring is tested');
    const lrs = metricLines(whole).map((l) => l['train/lr']);
    assert.ok(lrs[3] < lrs[1], `the learning rate decays: ${lrs.join(' ')}`);
  });

  it('cuts every rollout at its stop strings: the text before the stop is scored, the tokens up to it are trained', async () => {
    const { tok } = base;
    const policy = base.model.clone();
    const replica = { models: { policy }, heads: { value: valueHead(policy.config.nEmbd, 0) } };
    const scored: string[] = [];
    const reward = (items: { completion: string }[]) => {
      scored.push(...items.map((x) => x.completion));
      return countA(items);
    };
    const clock = { generation: 0, scoring: 0, logprobs: 0 };
    const o = { ...defaultPPOConfig, maxNewTokens: 8, stop: ['c'] };
    const roll = await collectRollouts(replica, refOf(policy), tok, [...prompts, ...prompts], reward, o, 0, clock);
    assert.deepEqual(scored, roll.texts);
    let cut = 0;
    roll.pairs.forEach((p, i) => {
      assert.ok(!roll.texts[i].includes('c'), `scored text ${JSON.stringify(roll.texts[i])} has the stop text`);
      const trained = tok.decode(p.completion);
      if (!trained.includes('c')) return;
      cut++;
      assert.equal(roll.finishReasons[i], 'stop');
      assert.equal(trained.indexOf('c'), roll.texts[i].length, 'the scored text is all that precedes the stop');
      assert.ok(!tok.decode(p.completion.slice(0, -1)).includes('c'), 'the last trained token completes the stop');
      const row = Array.from(roll.mask.subarray(i * roll.Tc, (i + 1) * roll.Tc));
      assert.equal(
        row.reduce((a, b) => a + b, 0),
        p.completion.length,
      );
    });
    assert.ok(cut >= 3, `${cut} of ${roll.pairs.length} rollouts met the stop text`);
  });

  it('takes the log-probs of policy and reference at the sampling temperature, over the tokenizer vocabulary', async () => {
    const { tok } = base;
    const policy = base.model.clone();
    assert.ok(policy.config.vocabSize > tok.vocabSize, 'the model pads its vocabulary, so the mask is tested');
    const replica = { models: { policy }, heads: { value: valueHead(policy.config.nEmbd, 0) } };
    const clock = { generation: 0, scoring: 0, logprobs: 0 };
    const o = { ...defaultPPOConfig, maxNewTokens: 4, temperature: 0.7 };
    const roll = await collectRollouts(replica, refOf(policy), tok, prompts, countA, o, 0, clock);
    roll.pairs.forEach((p, b) =>
      p.completion.forEach((t, j) => {
        const want = plainLogProb(policy, [...p.prompt, ...p.completion.slice(0, j)], t, 0.7, tok.vocabSize);
        close(roll.logp[b * roll.Tc + j], want, 1e-4);
        close(roll.logpRef[b * roll.Tc + j], want, 1e-4);
      }),
    );
  });

  it('at temperature 0.7 the first minibatch has ratio 1, and the KL of the policy to its copy is exactly 0', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'rlhf-ppo-t-'));
    const cfg = { ...defaultPPOConfig, outDir, iterations: 1, rolloutBatch: 8, minibatch: 8, ppoEpochs: 1 };
    await trainPPO(base.model.clone(), base.tok, prompts, countA, { ...cfg, temperature: 0.7, quiet: true }, () => {});
    const [m] = metricLines(outDir);
    assert.equal(m['objective/kl'], 0);
    // The reference goes through the policy's own shards, so their log-probs agree to the bit. The
    // minibatch is batched otherwise than the rollouts (row order, padded length), and the engine's
    // forward is not batch-invariant in the last float bit: so |log ratio| < 1e-5 on every token.
    assert.ok(m['ppo/approxkl'] < 0.5e-10, `approxkl ${m['ppo/approxkl']}`);
    close(m['ppo/policy/ratio_mean'], 1, 1e-6);
    assert.equal(m['ppo/clipfrac'], 0);
  });

  it('writes each rollout and how it ended to samples.jsonl; unfinished ones lose the missing-EOS penalty', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'rlhf-ppo-eos-'));
    const cfg = { ...defaultPPOConfig, outDir, iterations: 2, rolloutBatch: 8, minibatch: 8, ppoEpochs: 1 };
    const o = { ...cfg, maxNewTokens: 3, stop: ['c'], missingEosPenalty: 1, samplesEvery: 2, quiet: true };
    await trainPPO(base.model.clone(), base.tok, prompts, countA, o, () => {});
    const lines = readFileSync(join(outDir, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 8, 'the rollouts of iteration 2 only');
    for (const l of lines) {
      assert.deepEqual(Object.keys(l), ['iteration', 'prompt', 'completion', 'score', 'finish_reason']);
      assert.equal(l.iteration, 2);
      assert.equal(l.score, countA([l])[0], 'the raw score');
    }
    const finished = lines.filter((l) => l.finish_reason === 'stop').length;
    assert.ok(finished > 0 && finished < 8, `${finished} of 8 finished: both kinds are tested`);
    const m = metricLines(outDir)[1];
    assert.equal(m['val/num_eos_tokens'], finished);
    const penalized = lines.map((l) => l.score - (l.finish_reason === 'length' ? 1 : 0));
    close(m['objective/scores'], penalized.reduce((a, b) => a + b, 0) / 8, 1e-6);
    assert.throws(() => ppoOptions.validate({ ...o, missingEosPenalty: -1 }), /--missing-eos-penalty\) must be/);
  });

  it("logs as objective/entropy TRL's: the mean over rollouts of the summed −log π of their sampled tokens", async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'rlhf-ppo-ent-'));
    const cfg = { ...defaultPPOConfig, outDir, iterations: 1, rolloutBatch: 8, minibatch: 8, ppoEpochs: 1 };
    const o = { ...cfg, maxNewTokens: 4, temperature: 0.8, quiet: true };
    // The same policy and seed give trainPPO's first rollouts.
    const policy = base.model.clone();
    const replica = { models: { policy }, heads: { value: valueHead(policy.config.nEmbd, o.seed) } };
    const clock = { generation: 0, scoring: 0, logprobs: 0 };
    const batch = [...prompts, ...prompts];
    const roll = await collectRollouts(replica, refOf(policy), base.tok, batch, countA, o, 0, clock);
    let sum = 0;
    roll.logp.forEach((lp, i) => (sum -= roll.mask[i] * lp));
    await trainPPO(base.model.clone(), base.tok, prompts, countA, o, () => {});
    const [m] = metricLines(outDir);
    close(m['objective/entropy'], sum / 8, 1e-9);
    assert.ok(m['objective/entropy'] > m['policy/entropy_avg'], 'a sum over tokens, not a per-token mean');
  });
});
