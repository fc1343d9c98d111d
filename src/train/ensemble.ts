// Ensembles of reward models (different seeds and bootstrap resamples of the comparisons) and
// active selection: the candidate pairs whose preference the members disagree on most are the
// ones worth a person's time.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RNG } from '../engine/rng.js';
import { Comparison } from '../data/comparison.js';
import { RewardModel } from '../model/reward-model.js';
import { scoreRewards } from '../runtime/reward.js';
import { RewardConfig } from './reward-config.js';
import { RewardResult, pairMetrics, rankingPairs, scorePairs, trainRewardModel } from './reward.js';

export const ENSEMBLE_FILE = 'ensemble.json';

export interface EnsembleManifest {
  members: string[];
  bootstrap: boolean;
  /** Eval metrics of the ensemble's mean reward, and of each member. */
  eval: ReturnType<typeof pairMetrics> | null;
  memberEval: (ReturnType<typeof pairMetrics> | null)[];
  /** Mean over eval pairs of the members' standard deviation of P(chosen wins). */
  meanDisagreement: number | null;
}

/** Trains K members into dir/member-k (seed + k; bootstrap: resampled comparisons) and writes ensemble.json. */
export function trainEnsemble(
  train: Comparison[],
  evalSet: Comparison[],
  cfg: RewardConfig,
  K: number,
  bootstrap: boolean,
  log: (m: string) => void,
): EnsembleManifest {
  if (!Number.isInteger(K) || K < 2) throw new Error(`ensemble size must be an integer ≥ 2, got ${K}`);
  mkdirSync(cfg.outDir, { recursive: true });
  const members: string[] = [],
    models: RewardModel[] = [],
    results: RewardResult[] = [];
  for (let k = 0; k < K; k++) {
    const rng = new RNG(cfg.seed * 7919 + k);
    const data = bootstrap ? train.map(() => train[rng.int(train.length)]) : train;
    const name = `member-${k}`;
    log(`ensemble member ${k + 1}/${K}${bootstrap ? ' (bootstrap resample)' : ''}`);
    const { rm, result } = trainRewardModel(
      data,
      evalSet,
      // Each member is its own run in TensorBoard too: DIR/member-k beside the others.
      {
        ...cfg,
        seed: cfg.seed + k,
        outDir: join(cfg.outDir, name),
        tensorboard: cfg.tensorboard && join(cfg.tensorboard, name),
      },
      log,
    );
    members.push(name);
    models.push(rm);
    results.push(result);
  }
  let evalMetrics = null,
    meanDisagreement = null;
  if (evalSet.length) {
    const scores = models.map((m) => scorePairs(m, evalSet));
    const mean = (pick: (s: (typeof scores)[0]) => number[]) =>
      pick(scores[0]).map((_, i) => scores.reduce((a, s) => a + pick(s)[i], 0) / K);
    evalMetrics = pairMetrics(
      mean((s) => s.chosen),
      mean((s) => s.rejected),
    );
    const diffs = scores.map((s) => s.chosen.map((c, i) => c - s.rejected[i]));
    const d = disagreement(diffs);
    meanDisagreement = d.reduce((a, b) => a + b, 0) / d.length;
    // Per eval pair: how much the members disagree, and their mean P(chosen wins).
    const pairs = evalSet.flatMap((c) =>
      rankingPairs(c.ranking).map(([w, l]) => ({
        prompt: c.prompt,
        chosen: c.completions[w],
        rejected: c.completions[l],
      })),
    );
    writeFileSync(
      join(cfg.outDir, 'eval-disagreement.jsonl'),
      pairs
        .map((p, i) =>
          JSON.stringify({
            ...p,
            disagreement: d[i],
            p_chosen: diffs.reduce((a, x) => a + 1 / (1 + Math.exp(-x[i])), 0) / K,
          }),
        )
        .join('\n') + '\n',
    );
  }
  const manifest: EnsembleManifest = {
    members,
    bootstrap,
    eval: evalMetrics,
    memberEval: results.map((r) => r.eval),
    meanDisagreement,
  };
  writeFileSync(join(cfg.outDir, ENSEMBLE_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** Per pair: the standard deviation across members of σ(Δ), from each member's reward differences Δ. */
export function disagreement(diffs: number[][]): number[] {
  const K = diffs.length;
  return diffs[0].map((_, i) => {
    const p = diffs.map((d) => 1 / (1 + Math.exp(-d[i])));
    const m = p.reduce((a, b) => a + b, 0) / K;
    return Math.sqrt(p.reduce((a, b) => a + (b - m) ** 2, 0) / K);
  });
}

export function loadEnsemble(dir: string): RewardModel[] {
  let manifest: EnsembleManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, ENSEMBLE_FILE), 'utf8'));
  } catch (e) {
    throw new Error(
      `${join(dir, ENSEMBLE_FILE)}: cannot read the ensemble manifest (${(e as Error).message}); train one with ` +
        `\`rlhf train reward --ensemble K\``,
    );
  }
  return manifest.members.map((m) => RewardModel.load(join(dir, m)));
}

export interface Candidate {
  prompt: string;
  a: string;
  b: string;
}

export interface RankedCandidate extends Candidate {
  /** Standard deviation across members of P(a preferred over b): higher = more informative to label. */
  disagreement: number;
  /** Mean of the members' P(a preferred over b). */
  p_a: number;
}

/**
 * A ranked pair as a labeling task (the line `rlhf feedback import` and the admin page's import
 * take), with the ensemble's view under meta, so the pairs to label next go straight to people.
 */
export function toLabelingTask(r: RankedCandidate): {
  prompt: string;
  completions: [string, string];
  meta: { disagreement: number; p_a: number };
} {
  return { prompt: r.prompt, completions: [r.a, r.b], meta: { disagreement: r.disagreement, p_a: r.p_a } };
}

/** Scores candidate pairs with every member and ranks them by disagreement, most first. */
export function rankCandidates(members: RewardModel[], cands: Candidate[]): RankedCandidate[] {
  const diffs = members.map((m) => {
    const r = scoreRewards(
      m,
      cands.flatMap((c) => [
        { prompt: c.prompt, completion: c.a },
        { prompt: c.prompt, completion: c.b },
      ]),
    );
    return cands.map((_, i) => r[2 * i] - r[2 * i + 1]);
  });
  const d = disagreement(diffs);
  return cands
    .map((c, i) => ({
      ...c,
      disagreement: d[i],
      p_a: diffs.reduce((acc, x) => acc + 1 / (1 + Math.exp(-x[i])), 0) / members.length,
    }))
    .sort((x, y) => y.disagreement - x.disagreement);
}
