// Scored items (upvotes, ratings: "internet feedback") → pairwise comparisons, with Ward's
// confounder controls (Large scale reward modeling, 2021): compare only items of the same group
// (the same prompt or parent post), with a clear score gap, of similar length (length alone
// predicts votes), posted close in time (early items collect more votes). Pairs that are also
// very close in length and time form the "hard" split, where a reward model cannot win on
// length or time and must read the text.
//
// Record (JSONL): {"group"?: str, "prompt"?: str, "text": str, "score": number,
//                  "time"?: number (Unix seconds, as Reddit's created_utc) | ISO 8601 string, "id"?}

import { Comparison } from './comparison.js';
import { FieldError } from './jsonl.js';
import { compact, describe, isAbsent, optionalString, requireNumber, requireText } from './formats/fields.js';

export interface ScoredItem {
  text: string;
  score: number;
  group?: string;
  prompt?: string;
  /** Seconds since 1970 (ISO strings are converted). */
  time?: number;
  id?: string;
}

export function parseScoredItem(obj: Record<string, unknown>): ScoredItem {
  const item: ScoredItem = { text: requireText(obj.text, 'text'), score: requireNumber(obj.score, 'score') };
  item.group = optionalKey(obj.group, 'group');
  item.prompt = optionalString(obj.prompt, 'prompt');
  item.id = optionalKey(obj.id, 'id');
  if (!isAbsent(obj.time)) {
    const t = obj.time;
    if (typeof t === 'number' && Number.isFinite(t)) item.time = t;
    else if (typeof t === 'string' && !Number.isNaN(Date.parse(t))) item.time = Date.parse(t) / 1000;
    else throw new FieldError('time', `must be Unix seconds or an ISO 8601 string, got ${describe(t)}`);
  }
  return compact(item);
}

/** Group and id keys may be numbers in exported data (post ids); they are compared as strings. */
function optionalKey(v: unknown, field: string): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return optionalString(v, field);
}

export interface PairOptions {
  /** Keep a pair only when |score gap| ≥ this (and always > 0: ties say nothing). */
  minScoreGap: number;
  /** Keep a pair only when longer/shorter (in characters) ≤ this. Infinity = off. */
  maxLengthRatio: number;
  /**
   * Keep a pair only when both times are known and |time gap| ≤ this, in seconds; pairs with an unknown time are kept.
   */
  maxTimeGap: number;
  /**
   * Items with neither group nor prompt are shuffled (seed) and cut into buckets of this size; pairs form within a
   * bucket.
   */
  bucketSize: number;
  /** At most this many pairs per group or bucket (a seeded random sample of the kept ones). Infinity = all. */
  maxPairsPerGroup: number;
  /** Hard split: length ratio ≤ this … */
  hardLengthRatio: number;
  /** … and, where both times are known, time gap ≤ this (seconds). */
  hardTimeGap: number;
  /** confidence = tanh(gap / confidenceScale); undefined = the standard deviation of all scores. */
  confidenceScale?: number;
  /** Prompt of pairs whose items have none. */
  prompt: string;
  seed: number;
  /** Written into each comparison's `source`. */
  source: string;
}

/** Defaults for generic scored items (votes, ratings): ties dropped, length within 2×, within a day. */
export const SCORED_DEFAULTS: PairOptions = {
  minScoreGap: 0,
  maxLengthRatio: 2,
  maxTimeGap: 86400,
  bucketSize: 10,
  maxPairsPerGroup: Infinity,
  hardLengthRatio: 1.15,
  hardTimeGap: 3600,
  confidenceScale: undefined,
  prompt: '',
  seed: 0,
  source: 'scored',
};

export interface PairStats {
  items: number;
  /** Named groups (by group, else prompt). */
  groups: number;
  /** Buckets of items with neither group nor prompt. */
  buckets: number;
  candidates: number;
  kept: number;
  hard: number;
  dropped: { sameText: number; scoreGap: number; lengthRatio: number; timeGap: number; groupCap: number };
  confidenceScale: number;
}

/** mulberry32: a small seeded generator (the data layer does not import the engine's RNG). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function std(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
}

export function validatePairOptions(o: PairOptions): void {
  const bad = (field: string, msg: string) => {
    throw new Error(`pair options: ${field} ${msg}`);
  };
  if (!(o.minScoreGap >= 0)) bad('minScoreGap', `must be ≥ 0, got ${o.minScoreGap}`);
  if (!(o.maxLengthRatio >= 1)) bad('maxLengthRatio', `must be ≥ 1 (longer/shorter), got ${o.maxLengthRatio}`);
  if (!(o.hardLengthRatio >= 1)) bad('hardLengthRatio', `must be ≥ 1, got ${o.hardLengthRatio}`);
  if (!(o.maxTimeGap >= 0) || !(o.hardTimeGap >= 0)) bad('maxTimeGap/hardTimeGap', 'must be ≥ 0 seconds');
  if (!Number.isInteger(o.bucketSize) || o.bucketSize < 2)
    bad('bucketSize', `must be an integer ≥ 2 (a bucket of 1 has no pairs), got ${o.bucketSize}`);
  if (!(o.maxPairsPerGroup >= 1)) bad('maxPairsPerGroup', `must be ≥ 1, got ${o.maxPairsPerGroup}`);
  if (o.confidenceScale !== undefined && !(o.confidenceScale > 0))
    bad('confidenceScale', `must be > 0, got ${o.confidenceScale}`);
}

/**
 * Turns scored items into comparisons [winner, loser] (the higher score wins). Each candidate
 * pair is dropped by the first rule it fails, in this order: identical text, score gap, length
 * ratio, time gap; then groups over maxPairsPerGroup are sampled down. Deterministic for a seed.
 */
export function pairScored(
  items: ScoredItem[],
  options: Partial<PairOptions> = {},
): { comparisons: Comparison[]; stats: PairStats } {
  const o: PairOptions = { ...SCORED_DEFAULTS, ...stripUndefined(options) };
  validatePairOptions(o);
  const scale = o.confidenceScale ?? (items.length > 1 ? std(items.map((x) => x.score)) || 1 : 1);
  const rand = rng(o.seed);
  // Groups in first-seen order; ungrouped items go to seeded buckets.
  const named = new Map<string, ScoredItem[]>();
  const loose: ScoredItem[] = [];
  for (const x of items) {
    const key = x.group ?? x.prompt;
    if (key === undefined) {
      loose.push(x);
      continue;
    }
    // NOTE: the key includes the prompt so items of one group with different prompts never meet.
    const k = JSON.stringify([x.group ?? null, x.prompt ?? null]);
    const g = named.get(k);
    if (g) g.push(x);
    else named.set(k, [x]);
  }
  const groups: { name: string; items: ScoredItem[] }[] = [...named.values()].map((g) => ({
    name: g[0].group ?? '',
    items: g,
  }));
  const shuffled = shuffle([...loose], rand);
  let buckets = 0;
  for (let i = 0; i < shuffled.length; i += o.bucketSize, buckets++)
    groups.push({ name: `bucket ${buckets}`, items: shuffled.slice(i, i + o.bucketSize) });

  const stats: PairStats = {
    items: items.length,
    groups: named.size,
    buckets,
    candidates: 0,
    kept: 0,
    hard: 0,
    dropped: { sameText: 0, scoreGap: 0, lengthRatio: 0, timeGap: 0, groupCap: 0 },
    confidenceScale: scale,
  };
  const comparisons: Comparison[] = [];
  for (const g of groups) {
    let kept: Comparison[] = [];
    const xs = g.items;
    for (let i = 0; i < xs.length; i++) {
      for (let j = i + 1; j < xs.length; j++) {
        stats.candidates++;
        const c = judgePair(xs[i], xs[j], o, scale, g.name, stats);
        if (c) kept.push(c);
      }
    }
    if (kept.length > o.maxPairsPerGroup) {
      stats.dropped.groupCap += kept.length - o.maxPairsPerGroup;
      const pick = new Set(
        shuffle(
          kept.map((_, k) => k),
          rand,
        ).slice(0, o.maxPairsPerGroup),
      );
      kept = kept.filter((_, k) => pick.has(k));
    }
    for (const c of kept) if (c.hard) stats.hard++;
    comparisons.push(...kept);
  }
  stats.kept = comparisons.length;
  return { comparisons, stats };
}

function judgePair(
  a: ScoredItem,
  b: ScoredItem,
  o: PairOptions,
  scale: number,
  group: string,
  stats: PairStats,
): Comparison | null {
  if (a.text === b.text) return stats.dropped.sameText++, null;
  const gap = Math.abs(a.score - b.score);
  if (gap === 0 || gap < o.minScoreGap) return stats.dropped.scoreGap++, null;
  const ratio = Math.max(a.text.length, b.text.length) / Math.min(a.text.length, b.text.length);
  if (ratio > o.maxLengthRatio) return stats.dropped.lengthRatio++, null;
  const timed = a.time !== undefined && b.time !== undefined;
  const dt = timed ? Math.abs(a.time! - b.time!) : 0;
  if (dt > o.maxTimeGap) return stats.dropped.timeGap++, null;
  const [w, l] = a.score > b.score ? [a, b] : [b, a];
  const hard = ratio <= o.hardLengthRatio && dt <= o.hardTimeGap;
  return compact({
    prompt: w.prompt ?? o.prompt,
    completions: [w.text, l.text],
    ranking: [0, 1],
    // NOTE: rounded so files stay readable; 4 digits is far below the noise of any score.
    confidence: Math.round(Math.tanh(gap / scale) * 1e4) / 1e4,
    source: o.source,
    hard: hard || undefined,
    meta: compact({
      scores: [w.score, l.score],
      ids: w.id !== undefined && l.id !== undefined ? [w.id, l.id] : undefined,
      group: group || undefined,
    }),
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
