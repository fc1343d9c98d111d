// What a judgment says about its task's completions, and how much two such statements agree.
// Pure functions, shared by every store backend.

import type { Judgment } from './types.js';

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

/** Mean of per-comparison agreement fractions: the running sum behind an Agreement. */
export class AgreementSum {
  n = 0;
  private sum = 0;
  add(a: RankMap, b: RankMap): void {
    const { agree, total } = pairAgreement(a, b);
    if (total === 0) return;
    this.n++;
    this.sum += agree / total;
  }
  result(): { n: number; rate: number | null } {
    return { n: this.n, rate: this.n ? this.sum / this.n : null };
  }
}
