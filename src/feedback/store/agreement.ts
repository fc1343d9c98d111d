// What a judgment says about its task, and how much two such statements agree (two labelers, or a
// labeler and the gold answer). Pure functions, shared by every store backend.

import type { Judgment, Task } from './types.js';

/** Completion index → rank (0 = best); equal ranks are ties. Absent indices were not ranked. */
export type RankMap = Map<number, number>;

/**
 * The order a done judgment puts the completions in, or null when it says none (skipped, no choice).
 * Pairs: choice < 5 puts shown[0] (A) first, > 5 shown[1] (B), 5 ties them.
 */
export function judgmentRanks(j: Pick<Judgment, 'choice' | 'ranking' | 'shown'>): RankMap | null {
  if (j.choice !== undefined) {
    const [a, b] = j.shown;
    if (j.choice === 5)
      return new Map([
        [a, 0],
        [b, 0],
      ]);
    return j.choice < 5
      ? new Map([
          [a, 0],
          [b, 1],
        ])
      : new Map([
          [b, 0],
          [a, 1],
        ]);
  }
  if (j.ranking !== undefined) return rankingRanks(j.ranking.map((p) => j.shown[p]));
  return null;
}

/** A ranking of completion indices, best first, as ranks. */
export function rankingRanks(ranking: number[]): RankMap {
  return new Map(ranking.map((c, r) => [c, r]));
}

/** Of the completion pairs both ranked, how many they order alike (a tie agrees only with a tie). */
export function pairAgreement(a: RankMap, b: RankMap): { agree: number; total: number } {
  const both = [...a.keys()].filter((k) => b.has(k)).sort((x, y) => x - y);
  let agree = 0,
    total = 0;
  for (let i = 0; i < both.length; i++) {
    for (let k = i + 1; k < both.length; k++) {
      const x = both[i],
        y = both[k];
      total++;
      if (Math.sign(a.get(x)! - a.get(y)!) === Math.sign(b.get(x)! - b.get(y)!)) agree++;
    }
  }
  return { agree, total };
}

/** What a done judgment (or a gold answer) says, in the terms of its kind of task. */
export type Answer =
  | { kind: 'pair'; ranks: RankMap }
  | { kind: 'thumbs'; up: boolean }
  | { kind: 'likert'; rating: number };

/** The answer of a judgment, or null when it gives none (a skip without a choice). */
export function judgmentAnswer(j: Pick<Judgment, 'choice' | 'ranking' | 'shown' | 'thumb' | 'rating'>): Answer | null {
  if (j.thumb !== undefined) return { kind: 'thumbs', up: j.thumb === 'up' };
  if (j.rating !== undefined) return { kind: 'likert', rating: j.rating };
  const ranks = judgmentRanks(j);
  return ranks && { kind: 'pair', ranks };
}

/** The gold answer of a task, or null when it has none. */
export function goldAnswer(t: Pick<Task, 'kind' | 'gold'>): Answer | null {
  const g = t.gold;
  if (g === undefined) return null;
  if (Array.isArray(g)) return { kind: 'pair', ranks: rankingRanks(g) };
  if (typeof g === 'string') return { kind: 'thumbs', up: g === 'up' };
  return { kind: 'likert', rating: g };
}

/**
 * How far two answers about one task agree, in [0, 1] (see Agreement), or null when they share
 * nothing to compare. pair: the fraction of completion pairs ordered alike; thumbs: 1 when the same;
 * likert: 1 when at most one point apart (how close, in points, is KindStats.meanAbsDiff).
 */
export function answerAgreement(a: Answer, b: Answer): number | null {
  if (a.kind === 'pair' && b.kind === 'pair') {
    const { agree, total } = pairAgreement(a.ranks, b.ranks);
    return total ? agree / total : null;
  }
  if (a.kind === 'thumbs' && b.kind === 'thumbs') return a.up === b.up ? 1 : 0;
  if (a.kind === 'likert' && b.kind === 'likert') return Math.abs(a.rating - b.rating) <= 1 ? 1 : 0;
  return null;
}

/** Mean of per-comparison agreement fractions: the running sum behind an Agreement. */
export class AgreementSum {
  n = 0;
  private sum = 0;
  add(a: Answer, b: Answer): void {
    const x = answerAgreement(a, b);
    if (x === null) return;
    this.n++;
    this.sum += x;
  }
  result(): { n: number; rate: number | null } {
    return { n: this.n, rate: this.n ? this.sum / this.n : null };
  }
}
