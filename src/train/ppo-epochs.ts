// PPO's last phase: ppoEpochs passes over an iteration's rollouts in shuffled minibatches, one
// optimizer update of the shared loop (src/train/loop.ts) each: clipped policy loss, clipped value
// loss, optional entropy bonus, split across threads.

import { splitEvenly } from '../engine/split.js';
import type { TokenPair } from '../model/logprobs.js';
import { type Replica, runSharded, shardCount } from '../runtime/replica.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import type { ShapedRewards } from '../objectives/ppo-rewards.js';
import { type PPOShard, kernels } from './kernels.js';
import type { TrainingRun } from './loop.js';
import type { PPOOptions } from './ppo-config.js';
import type { Rollouts } from './ppo-rollouts.js';

export type EpochOptions = Pick<
  PPOOptions,
  'ppoEpochs' | 'minibatch' | 'clipRange' | 'clipRangeValue' | 'vfCoef' | 'entCoef' | 'temperature'
>;

export interface EpochStats {
  /** Each kernel metric averaged over the updates (ppo/loss/*, ppo/clipfrac, ppo/val/*, …). */
  metrics: Record<string, number>;
  /** Learning rate of the last update. */
  lr: number;
  /** Mean global gradient norm before clipping. */
  gradNorm: number;
  updates: number;
}

/**
 * The minibatch epochs of one iteration; `step` is the loop's step (update) index of its first
 * update. The run's RNG orders the minibatches.
 */
export function trainOnRollouts(
  run: TrainingRun,
  replica: Replica,
  roll: Rollouts,
  shaped: ShapedRewards,
  o: EpochOptions,
  tok: Pick<Tokenizer, 'eosId' | 'vocabSize'>,
  step: number,
): EpochStats {
  const P = roll.pairs.length;
  const sums: Record<string, number> = {};
  let updates = 0,
    gradNorms = 0,
    lr = 0;
  const data = {
    logp: roll.logp,
    values: roll.values,
    adv: shaped.advantages,
    returns: shaped.returns,
    mask: roll.mask,
  };
  for (let e = 0; e < o.ppoEpochs; e++) {
    const order = run.rng.shuffle(roll.pairs.map((_, i) => i));
    for (let m = 0; m + o.minibatch <= P; m += o.minibatch) {
      run.opt.zeroGrad();
      const shards = shardPPO(order.slice(m, m + o.minibatch), roll.pairs, roll.Tc, data, o, tok);
      const res = runSharded(replica, kernels.ppoStep, shards);
      const loss = res.reduce((a, r, k) => a + r['ppo/loss/total'] * shards[k].weight, 0);
      if (!Number.isFinite(loss))
        throw new Error(
          `PPO diverged at update ${step + updates}: loss is ${loss}. HINT: lower --lr (now ${run.cfg.lr}) or ` +
            `keep --grad-clip on`,
        );
      const u = run.update(step + updates);
      lr = u.lr;
      gradNorms += u.gradNorm;
      res.forEach((r, k) => {
        for (const [key, v] of Object.entries(r)) sums[key] = (sums[key] ?? 0) + v * shards[k].weight;
      });
      updates++;
    }
  }
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(sums)) metrics[k] = v / Math.max(1, updates);
  return { metrics, lr, gradNorm: gradNorms / Math.max(1, updates), updates };
}

/** One minibatch (rows idx of the grids) split into token-weighted shards, one per thread. */
function shardPPO(
  idx: number[],
  pairs: TokenPair[],
  Tc: number,
  d: { logp: Float32Array; values: Float32Array; adv: Float32Array; returns: Float32Array; mask: Float32Array },
  o: EpochOptions,
  tok: Pick<Tokenizer, 'eosId' | 'vocabSize'>,
): PPOShard[] {
  const n = Math.min(shardCount(), idx.length);
  const rowsOf = (a: Float32Array, rows: number[]) => {
    const out = new Float32Array(rows.length * Tc);
    rows.forEach((r, i) => out.set(a.subarray(r * Tc, (r + 1) * Tc), i * Tc));
    return out;
  };
  let total = 0;
  for (const r of idx) for (let j = 0; j < Tc; j++) total += d.mask[r * Tc + j];
  return splitEvenly(idx, n).map((rows) => {
    const mask = rowsOf(d.mask, rows);
    // Token-weighted, so the shards' losses add up to the minibatch's token mean.
    const weight = mask.reduce((a, b) => a + b, 0) / total;
    return {
      pairs: rows.map((r) => pairs[r]),
      padId: tok.eosId,
      Tc,
      temperature: o.temperature,
      vocabSize: tok.vocabSize,
      oldLogp: rowsOf(d.logp, rows),
      oldValues: rowsOf(d.values, rows),
      advantages: rowsOf(d.adv, rows),
      returns: rowsOf(d.returns, rows),
      mask,
      clipRange: o.clipRange,
      clipRangeValue: o.clipRangeValue,
      vfCoef: o.vfCoef,
      entCoef: o.entCoef,
      weight,
    };
  });
}
