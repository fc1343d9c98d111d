import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertClose } from '../test-support/assert-close.js';
import { Graph } from '../engine/graph.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import { valueHead } from '../model/heads.js';
import { shapeRewards } from '../objectives/ppo-rewards.js';
import { ppoOptions } from './ppo-config.js';
import { type RolloutOptions, collectRollouts } from './ppo-rollouts.js';
import { type PPOConfig, defaultPPOConfig, trainPPO } from './ppo.js';
import { countA, letterPolicy } from './test-fixtures.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const jsonLines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const metricLines = (dir: string): Record<string, number>[] => jsonLines(join(dir, 'metrics.jsonl'));

const base = letterPolicy();
const prompts = [' b', ' c', ' d e', ' e'];
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `rlhf-ppo-${name}-`));
/** One iteration of 8 rollouts in one minibatch, unless `o` says otherwise. */
const small = (outDir: string, o: Partial<PPOConfig> = {}): PPOConfig => ({
  ...defaultPPOConfig,
  outDir,
  iterations: 1,
  rolloutBatch: 8,
  minibatch: 8,
  ppoEpochs: 1,
  maxNewTokens: 4,
  quiet: true,
  ...o,
});
const train = (cfg: PPOConfig) => trainPPO(base.model.clone(), base.tok, prompts, countA, cfg, () => {});

/** The rollouts trainPPO's first iteration collects with these options: 8, from a copy of the policy. */
async function firstRollouts(o: RolloutOptions, reward = countA) {
  const policy = base.model.clone();
  const head = valueHead(policy.config.nEmbd, o.seed);
  const ref = { models: { policy: policy.clone() }, heads: {} };
  const clock = { generation: 0, scoring: 0, logprobs: 0 };
  const batch = [...prompts, ...prompts];
  const roll = await collectRollouts(
    { models: { policy }, heads: { value: head } },
    ref,
    base.tok,
    batch,
    reward,
    o,
    0,
    clock,
  );
  return { roll, policy, head };
}

/**
 * A plain forward pass of `prefix` (one row, padded to whole SIMD vectors): its last position's hidden state and
 * logits.
 */
function lastPosition(model: CausalLM, prefix: number[], g: Graph) {
  const T = (prefix.length + 3) & ~3; // the padding follows the prefix, so causal attention ignores it
  const ids = new Int32Array(T).fill(prefix[0]);
  ids.set(prefix);
  const h = model.hidden(g, ids, 1, T);
  const logits = model.logits(g, h); // (1, T, V)
  const V = logits.shape[2],
    at = prefix.length - 1;
  return { h, at, logits: logits.data.subarray(at * V, (at + 1) * V) };
}

/** log softmax(logits/τ) over the tokenizer's ids, of token `next` after `prefix`. */
function plainLogProb(model: CausalLM, prefix: number[], next: number, temperature: number, vocabSize: number): number {
  const g = Graph.inference();
  const z = Array.from(lastPosition(model, prefix, g).logits.subarray(0, vocabSize), (x) => x / temperature);
  g.dispose();
  const m = Math.max(...z);
  return z[next] - m - Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
}

describe('PPO', () => {
  it('raises a known reward (more "a") with a bounded KL to the reference, and logs the PPO metrics', async () => {
    const out = tmp('learn');
    const cfg = small(out, { iterations: 12, rolloutBatch: 32, ppoEpochs: 4, lr: 1e-3, initKL: 0.02, targetKL: 0 });
    const r = await train(cfg);
    const early = mean(r.scores.slice(0, 3)),
      late = mean(r.scores.slice(-3));
    const scores = r.scores.map((s) => s.toFixed(2)).join(' ');
    assert.ok(late > early + 0.5, `score ${early.toFixed(2)} → ${late.toFixed(2)}: ${scores}`);
    assert.ok(
      r.kl.every((k) => Number.isFinite(k) && k > -0.05 && k < 10),
      `KL ${r.kl.map((k) => k.toFixed(2)).join(' ')}`,
    );
    const lines = metricLines(out);
    assert.equal(lines.length, 12);
    for (const key of [
      ...['objective/kl', 'objective/entropy', 'policy/entropy_avg', 'objective/scores', 'objective/kl_coef'],
      ...['ppo/clipfrac', 'ppo/approxkl', 'ppo/val/error', 'ppo/val/clipfrac', 'ppo/returns/mean', 'train/lr'],
    ])
      assert.ok(Number.isFinite(lines[11][key]), `${key} logged`);
    assert.ok(existsSync(join(out, 'model.safetensors')));
    assert.ok(loadCheckpoint(out).heads.has('v_head.summary'));
  });

  it("moves β by the adaptive controller's formula applied to each iteration's measured KL", async () => {
    // A tiny target keeps the KL error at its clip (+0.2) once the policy has moved; at iteration 1
    // the policy is the reference (KL 0, error −1 → −0.2), so β first falls, then rises.
    const out = tmp('beta');
    const cfg = small(out, { iterations: 4, minibatch: 4, ppoEpochs: 2, lr: 1e-3, initKL: 0.2, targetKL: 0.01 });
    await train({ ...cfg, horizon: 16 });
    const lines = metricLines(out);
    const next = (beta: number, kl: number) => beta * (1 + (Math.min(0.2, Math.max(-0.2, kl / 0.01 - 1)) * 8) / 16);
    assert.equal(lines[0]['objective/kl_coef'], 0.2);
    for (let i = 1; i < lines.length; i++)
      assert.equal(
        lines[i]['objective/kl_coef'],
        next(lines[i - 1]['objective/kl_coef'], lines[i - 1]['objective/kl']),
      );
    const last = lines[lines.length - 1];
    assert.equal(loadCheckpoint(out).meta.klCoef, next(last['objective/kl_coef'], last['objective/kl']));
    assert.ok(lines[1]['objective/kl_coef'] < 0.2 && lines[3]['objective/kl_coef'] > lines[2]['objective/kl_coef']);
  });

  it('2 iterations, then --resume for 2 more, give the weights, metrics and β of 4 in one go', async () => {
    const cfg = (outDir: string) =>
      small(outDir, { iterations: 4, minibatch: 4, ppoEpochs: 2, lr: 1e-3, warmupSteps: 3, saveEvery: 1 });
    const kl = { initKL: 0.2, targetKL: 0.5, horizon: 16 };
    const whole = tmp('whole'),
      split = tmp('split');
    const a = await train({ ...cfg(whole), ...kl });
    await train({ ...cfg(split), ...kl, stopAfter: 2 });
    assert.equal(metricLines(split).length, 2);
    const b = await train({ ...cfg(split), ...kl, resume: true });
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

  it(
    'cuts rollouts at their stop strings: the text before the stop is scored, the tokens up to it ' + 'trained',
    async () => {
      const scored: string[] = [];
      const reward = (items: { completion: string }[]) => {
        scored.push(...items.map((x) => x.completion));
        return countA(items);
      };
      const { roll } = await firstRollouts({ ...defaultPPOConfig, maxNewTokens: 8, stop: ['c'] }, reward);
      assert.deepEqual(scored, roll.texts);
      let cut = 0;
      roll.pairs.forEach((p, i) => {
        assert.ok(!roll.texts[i].includes('c'), `scored text ${JSON.stringify(roll.texts[i])} has the stop text`);
        const trained = base.tok.decode(p.completion);
        if (!trained.includes('c')) return;
        cut++;
        assert.equal(roll.finishReasons[i], 'stop');
        assert.equal(trained.indexOf('c'), roll.texts[i].length, 'the scored text is all that precedes the stop');
        assert.ok(!base.tok.decode(p.completion.slice(0, -1)).includes('c'), 'the last trained token completes it');
      });
      assert.ok(cut >= 3, `${cut} of ${roll.pairs.length} rollouts met the stop text`);
    },
  );

  it('puts the score on the last token of the cut completion, and nothing past it', async () => {
    const { roll } = await firstRollouts({ ...defaultPPOConfig, maxNewTokens: 8, stop: ['c'] });
    const P = roll.pairs.length;
    const finished = roll.finishReasons.map((f) => f === 'stop');
    const x = { ...roll, finished, B: P, T: roll.Tc };
    const opts = { ...defaultPPOConfig, beta: 0, missingEosPenalty: 0 };
    const { rewards } = shapeRewards(x, opts);
    roll.pairs.forEach((p, b) => {
      const row = Array.from(rewards.subarray(b * roll.Tc, (b + 1) * roll.Tc), (r) => r + 0); // −0 → 0
      const want = row.map((_, j) => (j === p.completion.length - 1 ? roll.scores[b] : 0));
      assert.deepEqual(row, want, `row ${b}: ${p.completion.length} tokens`);
    });
  });

  it('reads each value before its token: the value head on the hidden state of the prefix', async () => {
    const { roll, policy, head } = await firstRollouts({ ...defaultPPOConfig, maxNewTokens: 4 });
    roll.pairs.forEach((p, b) =>
      p.completion.forEach((_, j) => {
        const g = Graph.inference();
        const { h, at } = lastPosition(policy, [...p.prompt, ...p.completion.slice(0, j)], g);
        assertClose(roll.values[b * roll.Tc + j], head.forward(g, h).data[at], 1e-5);
        g.dispose();
      }),
    );
  });

  it(
    'takes the log-probs of policy and reference at the sampling temperature, over the tokenizer ' + 'vocabulary',
    async () => {
      const { roll, policy } = await firstRollouts({ ...defaultPPOConfig, temperature: 0.7, maxNewTokens: 4 });
      const V = base.tok.vocabSize;
      assert.ok(policy.config.vocabSize > V, 'the model pads its vocabulary, so the mask is tested');
      roll.pairs.forEach((p, b) =>
        p.completion.forEach((t, j) => {
          const want = plainLogProb(policy, [...p.prompt, ...p.completion.slice(0, j)], t, 0.7, V);
          assertClose(roll.logp[b * roll.Tc + j], want, 1e-4);
          assertClose(roll.logpRef[b * roll.Tc + j], want, 1e-4);
        }),
      );
    },
  );

  it(
    'at temperature 0.7 the first minibatch has ratio 1, and the KL of the policy to its copy is exactly ' + '0',
    async () => {
      const out = tmp('temp');
      await train(small(out, { temperature: 0.7 }));
      const [m] = metricLines(out);
      assert.equal(m['objective/kl'], 0);
      // The reference goes through the policy's own shards, so their log-probs agree to the bit. The
      // minibatch is batched otherwise than the rollouts (row order, padded length), and the engine's
      // forward is not batch-invariant in the last float bit: so |log ratio| < 1e-5 on every token.
      assert.ok(m['ppo/approxkl'] < 0.5e-10, `approxkl ${m['ppo/approxkl']}`);
      assertClose(m['ppo/policy/ratio_mean'], 1, 1e-6);
      assert.equal(m['ppo/clipfrac'], 0);
    },
  );

  it(
    'writes each rollout and how it ended to samples.jsonl; unfinished ones lose the missing-EOS ' + 'penalty',
    async () => {
      const out = tmp('eos');
      const o = small(out, { iterations: 2, maxNewTokens: 3, stop: ['c'], missingEosPenalty: 1, samplesEvery: 2 });
      await train(o);
      const lines = jsonLines(join(out, 'samples.jsonl'));
      assert.equal(lines.length, 8, 'the rollouts of iteration 2 only');
      for (const l of lines) {
        assert.deepEqual(Object.keys(l), ['iteration', 'prompt', 'completion', 'score', 'rewards', 'finish_reason']);
        assert.equal(l.iteration, 2);
        assert.equal(l.score, countA([l])[0], 'the raw score');
        assert.deepEqual(l.rewards, { reward: l.score }, "the one reward's own score");
      }
      const finished = lines.filter((l) => l.finish_reason === 'stop').length;
      assert.ok(finished > 0 && finished < 8, `${finished} of 8 finished: both kinds are tested`);
      const m = metricLines(out)[1];
      assert.equal(m['val/num_eos_tokens'], finished);
      assertClose(
        m['objective/scores'],
        mean(lines.map((l) => l.score - (l.finish_reason === 'length' ? 1 : 0))),
        1e-6,
      );
      assert.throws(() => ppoOptions.validate({ ...o, missingEosPenalty: -1 }), /--missing-eos-penalty\) must be/);
    },
  );

  it(
    "logs as objective/entropy TRL's: the mean over rollouts of the summed −log π of their sampled " + 'tokens',
    async () => {
      const out = tmp('entropy');
      const o = small(out, { temperature: 0.8 });
      const { roll } = await firstRollouts(o);
      let sum = 0;
      roll.logp.forEach((lp, i) => (sum -= roll.mask[i] * lp));
      await train(o);
      const [m] = metricLines(out);
      assertClose(m['objective/entropy'], sum / 8, 1e-9);
      assert.ok(m['objective/entropy'] > m['policy/entropy_avg'], 'a sum over tokens, not a per-token mean');
    },
  );
});
