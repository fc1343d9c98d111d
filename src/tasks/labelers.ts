// Simulated labelers: people stood in for by the gold judge through a Bradley-Terry model with
// their own noise, plus careless ones who sometimes answer at random, so that agreement statistics,
// gold tasks and the reward model's ceiling have something real to measure.

import { Comparison, toPairs } from '../data/comparison.js';
import { hashString } from '../data/split.js';
import { RNG } from '../engine/rng.js';
import type { GoldJudge } from './types.js';

export interface SimulatedLabeler {
  id: string;
  /** Bradley-Terry inverse temperature: P(A wins) = sigmoid(beta × (gold(A) − gold(B))). */
  beta: number;
  /** Probability of answering at random (a coin flip, with a random confidence) instead. */
  careless: number;
}

/**
 * Five attentive labelers of varied noise and two careless ones. The betas suit gold scores in
 * [−1, 1] (both built-in judges): at beta 8 a gold gap of 0.1 is chosen right 69% of the time,
 * a gap of 0.3 92%.
 */
export function defaultLabelers(): SimulatedLabeler[] {
  return [
    { id: 'sim-1', beta: 16, careless: 0 },
    { id: 'sim-2', beta: 12, careless: 0 },
    { id: 'sim-3', beta: 8, careless: 0 },
    { id: 'sim-4', beta: 6, careless: 0 },
    { id: 'sim-5', beta: 4, careless: 0 },
    { id: 'sim-careless-1', beta: 8, careless: 0.5 },
    { id: 'sim-careless-2', beta: 4, careless: 0.3 },
  ];
}

export interface SimulateOptions {
  seed: number;
  /** Labelers per pair, drawn without replacement from the pool (default 1). */
  perPair?: number;
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function checkLabelers(labelers: SimulatedLabeler[]): void {
  if (!Array.isArray(labelers) || labelers.length === 0)
    throw new Error('simulateLabels: labelers must be a non-empty array (e.g. defaultLabelers())');
  const ids = new Set<string>();
  labelers.forEach((l, i) => {
    if (typeof l.id !== 'string' || !l.id)
      throw new Error(`labelers[${i}].id must be a non-empty string, got ${JSON.stringify(l.id)}`);
    if (ids.has(l.id)) throw new Error(`labelers[${i}].id "${l.id}" is used twice; give each labeler its own id`);
    ids.add(l.id);
    if (typeof l.beta !== 'number' || !Number.isFinite(l.beta) || l.beta < 0)
      throw new Error(
        `labelers[${i}].beta must be a finite number ≥ 0 (the Bradley-Terry inverse temperature), got ${l.beta}`,
      );
    if (typeof l.careless !== 'number' || !(l.careless >= 0 && l.careless <= 1))
      throw new Error(`labelers[${i}].careless must be a probability in [0, 1], got ${l.careless}`);
  });
}

/**
 * Each pair is judged by `perPair` labelers drawn from the pool: a labeler prefers A with
 * P = sigmoid(beta·(gold(A) − gold(B))), or, with probability `careless`, flips a coin. The
 * confidence is the 9-point scale's: round(8·|2P − 1|)/8 (a coin flip's is a random level, since
 * someone not reading cannot say how sure they are). Pair i's draws depend only on the seed and i.
 * Completions keep their order ([a, b]); the ranking says who won; meta.pair is i. Empty or
 * identical texts are errors (the data layer rejects such comparisons).
 */
export function simulateLabels(
  pairs: { prompt: string; a: string; b: string }[],
  gold: GoldJudge,
  labelers: SimulatedLabeler[],
  options: SimulateOptions,
): Comparison[] {
  checkLabelers(labelers);
  const { seed } = options;
  const perPair = options.perPair ?? 1;
  if (!Number.isSafeInteger(seed)) throw new Error(`simulateLabels: seed must be an integer, got ${seed}`);
  if (!Number.isInteger(perPair) || perPair < 1 || perPair > labelers.length) {
    throw new Error(
      `simulateLabels: perPair must be an integer in [1, ${labelers.length}] (the pool's size), got ${perPair}`,
    );
  }
  const out: Comparison[] = [];
  pairs.forEach((pair, i) => {
    const { prompt, a, b } = pair;
    if (typeof prompt !== 'string' || typeof a !== 'string' || typeof b !== 'string') {
      throw new Error(`pairs[${i}]: prompt, a and b must be strings, got ${typeof prompt}, ${typeof a}, ${typeof b}`);
    }
    // Same rule as the data layer's: empty is an error, whitespace is a (bad) completion like any other.
    if (!a || !b)
      throw new Error(
        `pairs[${i}]: ${!a ? 'a' : 'b'} is empty; a comparison needs two non-empty completions (drop empty ` +
          `samples first)`,
      );
    if (a === b)
      throw new Error(
        `pairs[${i}]: a and b are the same text; such a pair teaches a reward model nothing (drop or resample it)`,
      );
    const ga = gold.score(prompt, a),
      gb = gold.score(prompt, b);
    if (!Number.isFinite(ga) || !Number.isFinite(gb))
      throw new Error(`pairs[${i}]: the gold judge "${gold.name}" returned ${ga} and ${gb}; scores must be finite`);
    const rng = new RNG((hashString(`pair:${i}`) ^ Math.imul(seed | 0, 0x85ebca6b)) >>> 0);
    // The first perPair entries of a partial Fisher-Yates shuffle: distinct labelers.
    const pool = labelers.map((_, k) => k);
    for (let k = 0; k < perPair; k++) {
      const j = k + rng.int(pool.length - k);
      [pool[k], pool[j]] = [pool[j], pool[k]];
      const l = labelers[pool[k]];
      const p = sigmoid(l.beta * (ga - gb));
      let aWins: boolean, confidence: number;
      if (rng.uniform() < l.careless) {
        aWins = rng.uniform() < 0.5;
        confidence = rng.int(9) / 8;
      } else {
        aWins = rng.uniform() < p;
        confidence = Math.round(8 * Math.abs(2 * p - 1)) / 8;
      }
      out.push({
        prompt,
        completions: [a, b],
        ranking: aWins ? [0, 1] : [1, 0],
        confidence,
        labeler: l.id,
        source: 'simulated',
        meta: { pair: i },
      });
    }
  });
  return out;
}

export interface LabelAgreement {
  /** Share of judged pairs whose winner the gold judge also scores higher (gold ties left out). */
  withGold: number;
  /** Share of pairs of labels on the same completions that pick the same winner; null when no pair was judged twice. */
  betweenLabelers: number | null;
  /**
   * Per labeler (by the comparisons' labeler field, "unknown" when absent); labelers with only gold ties are left out.
   */
  perLabeler: Record<string, { n: number; withGold: number }>;
  /** Judged pairs counted in withGold, and those left out as gold ties. */
  n: number;
  goldTies: number;
  /** Pairs of labels compared for betweenLabelers. */
  labelerPairs: number;
}

/** Agreement of labels with the gold judge's own preference, and between labelers on the same pair. */
export function labelAgreement(comparisons: Comparison[], gold: GoldJudge): LabelAgreement {
  if (comparisons.length === 0) throw new Error('labelAgreement: no comparisons to measure');
  const scores = new Map<string, number>();
  const goldOf = (prompt: string, text: string) => {
    const k = `${prompt}\u0000${text}`;
    let s = scores.get(k);
    if (s === undefined) scores.set(k, (s = gold.score(prompt, text)));
    return s;
  };
  let agree = 0,
    n = 0,
    ties = 0;
  const per = new Map<string, { n: number; agree: number }>();
  // For betweenLabelers: (prompt, unordered text pair) → the winners chosen, one per label.
  const winners = new Map<string, string[]>();
  for (const c of comparisons) {
    const who = c.labeler ?? 'unknown';
    for (const p of toPairs(c)) {
      const gc = goldOf(p.prompt, p.chosen),
        gr = goldOf(p.prompt, p.rejected);
      if (gc === gr) ties++;
      else {
        const ok = gc > gr ? 1 : 0;
        agree += ok;
        n++;
        const s = per.get(who) ?? { n: 0, agree: 0 };
        s.n++;
        s.agree += ok;
        per.set(who, s);
      }
      const key = `${p.prompt}\u0000${[p.chosen, p.rejected].sort().join('\u0000')}`;
      const w = winners.get(key) ?? [];
      w.push(p.chosen);
      winners.set(key, w);
    }
  }
  let same = 0,
    labelerPairs = 0;
  for (const w of winners.values()) {
    for (let x = 0; x < w.length; x++) {
      for (let y = x + 1; y < w.length; y++) {
        labelerPairs++;
        if (w[x] === w[y]) same++;
      }
    }
  }
  const perLabeler: Record<string, { n: number; withGold: number }> = {};
  for (const [id, s] of [...per.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    perLabeler[id] = { n: s.n, withGold: s.agree / s.n };
  return {
    withGold: n ? agree / n : NaN,
    betweenLabelers: labelerPairs ? same / labelerPairs : null,
    perLabeler,
    n,
    goldTies: ties,
    labelerPairs,
  };
}
