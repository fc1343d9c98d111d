// PPO against a reward (Stiennon et al.; Ziegler et al.): each iteration samples completions of a
// batch of prompts, scores them, turns the score and a per-token KL penalty to the frozen reference
// into per-token rewards, estimates advantages with GAE on a value head that shares the policy's
// trunk, and takes several epochs of clipped-objective minibatch steps.

import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, clipGradNorm } from '../engine/optim.js';
import { RNG } from '../engine/rng.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { GPT, valueHead } from '../model/gpt.js';
import { TokenPair } from '../model/logprobs.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { runSharded, shardCount } from '../runtime/replica.js';
import { generate } from '../runtime/sample.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { RewardFn, scoreWith } from '../judge/reward-fn.js';
import { computeAdvantages } from '../objectives/gae.js';
import { AdaptiveKLController, FixedKLController, KLController } from '../objectives/kl-controller.js';
import { tokenRewards } from '../objectives/kl.js';
import { maskedMean, maskedWhiten } from '../objectives/whiten.js';
import { PPOShard, kernels } from './kernels.js';
import { progress } from './progress.js';
import { PPOConfig, ppoOptions } from './ppo-config.js';

export { PPOConfig, defaultPPOConfig } from './ppo-config.js';

export interface PPOResult {
  /** Mean score of each iteration's rollouts (before the KL penalty). */
  scores: number[];
  /** Mean KL (nats per completion) of each iteration's rollouts to the reference. */
  kl: number[];
  /** Seconds spent, over all iterations, in each part of PPO (its cost, made visible). */
  seconds: { generation: number; scoring: number; logprobs: number; training: number };
}

/** What one iteration's rollouts were, for callers that watch training (e.g. a gold judge alongside the proxy). */
export interface PPOIteration {
  iteration: number;
  prompts: string[];
  completions: string[];
  /** Raw reward-function scores, before clipping and penalties. */
  scores: number[];
  /** Mean KL (nats per completion) to the reference. */
  kl: number;
}

export async function trainPPO(
  policy: GPT,
  tok: Tokenizer,
  prompts: string[],
  reward: RewardFn,
  cfg: PPOConfig,
  log: (m: string) => void,
  onIteration?: (it: PPOIteration) => void | Promise<void>,
): Promise<PPOResult> {
  if (prompts.length === 0) throw new Error('PPO needs prompts');
  ppoOptions.validate(cfg);
  mkdirSync(cfg.outDir, { recursive: true });
  const ref = policy.clone(); // frozen π_ref
  const head = valueHead(policy.config.nEmbd, cfg.seed);
  const replica = { models: { policy }, heads: { value: head } };
  const params = [...policy.params, ...head.params];
  const opt = new AdamW(params, { lr: cfg.lr, weightDecay: 0 });
  const kl: KLController =
    cfg.targetKL > 0
      ? new AdaptiveKLController(cfg.initKL, cfg.targetKL, cfg.horizon)
      : new FixedKLController(cfg.initKL);
  const rng = new RNG(cfg.seed);
  const metricsFd = openSync(join(cfg.outDir, 'metrics.jsonl'), 'w');
  const bar = progress('ppo', cfg.iterations, { quiet: cfg.quiet, unit: 'iterations' });
  const result: PPOResult = { scores: [], kl: [], seconds: { generation: 0, scoring: 0, logprobs: 0, training: 0 } };
  const clock = () => performance.now() / 1000;
  const ctx = policy.config.nPositions;
  try {
    for (let it = 0; it < cfg.iterations; it++) {
      // ---- rollouts ----
      const batchPrompts = Array.from(
        { length: cfg.rolloutBatch },
        (_, i) => prompts[(it * cfg.rolloutBatch + i) % prompts.length],
      );
      const promptIds = batchPrompts.map((p) => {
        const ids = p.length ? tok.encode(p) : [tok.eosId];
        return ids.slice(Math.max(0, ids.length - (ctx - cfg.maxNewTokens)));
      });
      let t0 = clock();
      const gens = generate(policy, promptIds, {
        maxNewTokens: cfg.maxNewTokens,
        temperature: cfg.temperature,
        stopTokens: [tok.eosId],
        vocabSize: tok.vocabSize,
        seed: cfg.seed * 7919 + it,
      });
      const pairs: TokenPair[] = gens.map((g, i) => ({ prompt: promptIds[i], completion: g.tokens }));
      const texts = gens.map((g) => tok.decode(g.finishReason === 'stop' ? g.tokens.slice(0, -1) : g.tokens));
      result.seconds.generation += clock() - t0;
      t0 = clock();
      const rawScores = await scoreWith(
        reward,
        batchPrompts.map((prompt, i) => ({ prompt, completion: texts[i] })),
      );
      const scores = rawScores.map((s, i) => {
        let v = cfg.scoreClip > 0 ? Math.max(-cfg.scoreClip, Math.min(cfg.scoreClip, s)) : s;
        if (gens[i].finishReason !== 'stop') v += cfg.missingEosPenalty;
        return v;
      });
      result.seconds.scoring += clock() - t0;
      t0 = clock();
      const P = pairs.length,
        Tc = Math.max(...pairs.map((p) => p.completion.length));
      const mask = new Float32Array(P * Tc);
      pairs.forEach((p, b) => mask.fill(1, b * Tc, b * Tc + p.completion.length));
      const old = gridOf(runSharded(replica, kernels.rolloutShard, splitPairs(pairs, tok.eosId, Tc)), P, Tc);
      const refLp = completionLogProbs(ref, pairs, tok.eosId);
      const logpRef = new Float32Array(P * Tc);
      refLp.forEach((lp, b) => logpRef.set(lp, b * Tc));
      let rewards = tokenRewards(scores, old.logp, logpRef, mask, P, Tc, kl.value);
      if (cfg.whitenRewards) rewards = maskedWhiten(rewards, mask, { shiftMean: false });
      const { advantages, returns } = computeAdvantages(rewards, old.values, mask, P, Tc, cfg.gamma, cfg.lambda);
      const adv = maskedWhiten(advantages, mask);
      let klSum = 0;
      for (let i = 0; i < P * Tc; i++) if (mask[i]) klSum += old.logp[i] - logpRef[i];
      const meanKL = klSum / P,
        meanScore = scores.reduce((a, b) => a + b, 0) / P;

      result.seconds.logprobs += clock() - t0;
      t0 = clock();
      // ---- optimization: epochs of minibatches ----
      const stats: Record<string, number> = {};
      let updates = 0;
      for (let e = 0; e < cfg.ppoEpochs; e++) {
        const order = rng.shuffle(pairs.map((_, i) => i));
        for (let m = 0; m + cfg.minibatch <= P; m += cfg.minibatch) {
          const idx = order.slice(m, m + cfg.minibatch);
          opt.zeroGrad();
          const sh = shardPPO(
            idx,
            pairs,
            Tc,
            { logp: old.logp, values: old.values, adv, returns, mask },
            cfg,
            tok.eosId,
          );
          const res = runSharded(replica, kernels.ppoStep, sh);
          clipGradNorm(params, cfg.gradClip);
          opt.update(cfg.lr);
          res.forEach((r, k) => {
            for (const [key, v] of Object.entries(r)) stats[key] = (stats[key] ?? 0) + v * sh[k].weight;
          });
          updates++;
        }
      }
      result.seconds.training += clock() - t0;
      for (const k of Object.keys(stats)) stats[k] /= Math.max(1, updates);
      const record = {
        iteration: it + 1,
        'objective/scores': meanScore,
        'objective/kl': meanKL,
        'objective/kl_coef': kl.value,
        'ppo/returns/mean': maskedMean(returns, mask),
        ...stats,
      };
      writeSync(metricsFd, JSON.stringify(record) + '\n');
      result.scores.push(meanScore);
      result.kl.push(meanKL);
      if (meanKL < -0.05)
        log(
          `ppo: warning: iteration ${it + 1} has negative KL (${meanKL.toFixed(3)} nats): the samples look more likely under the reference than the policy; check the sampling temperature (KL assumes temperature 1)`,
        );
      if (cfg.targetKL > 0 && meanKL > 5 * cfg.targetKL)
        log(
          `ppo: warning: KL ${meanKL.toFixed(2)} nats is over 5× the target ${cfg.targetKL}: the policy is running from the reference; lower --lr or raise --init-kl`,
        );
      kl.update(meanKL, P);
      await onIteration?.({
        iteration: it + 1,
        prompts: batchPrompts,
        completions: texts,
        scores: rawScores,
        kl: meanKL,
      });
      bar.update(it + 1, { score: meanScore, kl: meanKL });
    }
  } finally {
    bar.stop();
    closeSync(metricsFd);
  }
  saveCheckpoint(cfg.outDir, policy, {
    heads: [head],
    tokenizer: tok,
    meta: { kind: 'policy', trainer: 'ppo', klCoef: kl.value },
  });
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

/** Rollout pairs split into one shard per thread. */
function splitPairs(pairs: TokenPair[], padId: number, Tc: number) {
  const n = Math.min(shardCount(), pairs.length);
  return Array.from({ length: n }, (_, k) => ({
    pairs: pairs.slice(Math.floor((k * pairs.length) / n), Math.floor(((k + 1) * pairs.length) / n)),
    padId,
    Tc,
  }));
}

function gridOf(
  parts: { logp: number[]; values: number[] }[],
  P: number,
  Tc: number,
): { logp: Float32Array; values: Float32Array } {
  const logp = new Float32Array(P * Tc),
    values = new Float32Array(P * Tc);
  let o = 0;
  for (const part of parts) {
    logp.set(part.logp, o);
    values.set(part.values, o);
    o += part.logp.length;
  }
  return { logp, values };
}

function shardPPO(
  idx: number[],
  pairs: TokenPair[],
  Tc: number,
  d: { logp: Float32Array; values: Float32Array; adv: Float32Array; returns: Float32Array; mask: Float32Array },
  cfg: PPOConfig,
  padId: number,
): PPOShard[] {
  const n = Math.min(shardCount(), idx.length);
  const rowsOf = (a: Float32Array, rows: number[]) => {
    const out = new Float32Array(rows.length * Tc);
    rows.forEach((r, i) => out.set(a.subarray(r * Tc, (r + 1) * Tc), i * Tc));
    return out;
  };
  let total = 0;
  for (const r of idx) for (let j = 0; j < Tc; j++) total += d.mask[r * Tc + j];
  return Array.from({ length: n }, (_, k) => {
    const rows = idx.slice(Math.floor((k * idx.length) / n), Math.floor(((k + 1) * idx.length) / n));
    const mask = rowsOf(d.mask, rows);
    // Token-weighted, so the shards' losses add up to the minibatch's token mean.
    const weight = mask.reduce((a, b) => a + b, 0) / total;
    return {
      pairs: rows.map((r) => pairs[r]),
      padId,
      Tc,
      oldLogp: rowsOf(d.logp, rows),
      oldValues: rowsOf(d.values, rows),
      advantages: rowsOf(d.adv, rows),
      returns: rowsOf(d.returns, rows),
      mask,
      clipRange: cfg.clipRange,
      clipRangeValue: cfg.clipRangeValue,
      vfCoef: cfg.vfCoef,
      entCoef: cfg.entCoef,
      weight,
    };
  });
}
