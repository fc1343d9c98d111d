// The fluency gate shared by both gold judges: a number in [0, 1] that multiplies the task's own
// score, so that gibberish, word salad, repetition and empty or endless outputs cannot win however
// positive or on-topic their words are. It knows only the pretraining corpus: the words it has
// seen, and how much likelier each word is after the one before it than on its own.

import { clamp01, stem, words } from './text.js';

export interface CorpusStats {
  /** Word (lower case) → count in the corpus. */
  unigrams: ReadonlyMap<string, number>;
  /** "w1 w2" → count of w2 right after w1 in one document. */
  bigrams: ReadonlyMap<string, number>;
  /** Number of word tokens. */
  tokens: number;
  /** Stem → number of documents containing it (for tf-idf). */
  docFreq: ReadonlyMap<string, number>;
  documents: number;
}

export function buildCorpusStats(documents: readonly string[]): CorpusStats {
  const unigrams = new Map<string, number>(),
    docFreq = new Map<string, number>();
  const bigrams = new Map<string, number>();
  let tokens = 0;
  for (const d of documents) {
    const ws = words(d);
    tokens += ws.length;
    countInto(ws, unigrams, bigrams);
    const stems = new Set(ws.map(stem));
    for (const s of stems) docFreq.set(s, (docFreq.get(s) ?? 0) + 1);
  }
  return { unigrams, bigrams, tokens, docFreq, documents: documents.length };
}

function countInto(ws: string[], unigrams: Map<string, number>, bigrams: Map<string, number>): void {
  for (let i = 0; i < ws.length; i++) {
    unigrams.set(ws[i], (unigrams.get(ws[i]) ?? 0) + 1);
    if (i > 0) {
      const k = `${ws[i - 1]} ${ws[i]}`;
      bigrams.set(k, (bigrams.get(k) ?? 0) + 1);
    }
  }
}

/** Word and adjacent-pair counts of a short text (a tl;dr passage), added to the corpus's as a cache. */
export interface TextCounts {
  unigrams: Map<string, number>;
  bigrams: Map<string, number>;
}

export function countText(text: string): TextCounts {
  const unigrams = new Map<string, number>(),
    bigrams = new Map<string, number>();
  countInto(words(text), unigrams, bigrams);
  return { unigrams, bigrams };
}

/** Inverse document frequency of a stem: ln((N+1)/(df+1)) + 1, so unseen stems weigh most. */
export function idf(stats: CorpusStats, s: string): number {
  return Math.log((stats.documents + 1) / ((stats.docFreq.get(s) ?? 0) + 1)) + 1;
}

export interface FluencyOptions {
  /** Words in [min, max] get full marks; fewer ramp down to 0 words, more ramp to 0 at max + slack. */
  length?: { min: number; max: number; slack: number };
  /** The word just before the text (the prompt's last), so the seam is judged too. */
  previousWord?: string;
  /** Counts of a text the output may draw on (a tl;dr passage), added to the corpus's. */
  context?: TextCounts;
}

export interface FluencyParts {
  /** Known words ramped: ≥ 85% of the words (and odd tokens) in the corpus vocabulary → 1, ≤ 40% → 0. */
  known: number;
  /** 1 − 1.5 × (repeated content words + repeated adjacent pairs) / words. */
  repetition: number;
  /** Mean of min(1, log(P_bigram(w | previous) / P_unigram(w))) ramped: ≥ 0 → 1, ≤ −0.5 → 0. */
  plausibility: number;
  /** The length ramp (1 when no length range is given). */
  length: number;
  /** The product of the four: the gate. */
  fluency: number;
}

// Ramps calibrated on held-out corpus sentences against the same sentences with their words
// shuffled (docs/tasks.md): held-out text has median plausibility 0.12 (25th percentile −0.09)
// and ≥ 85% known words; shuffled text has median −0.41 (75th percentile −0.23).
const KNOWN_FULL = 0.85,
  KNOWN_ZERO = 0.4;
const PLAUSIBLE_FULL = 0,
  PLAUSIBLE_ZERO = -0.5;
// The bigram model is interpolated with the unigram one: an unseen pair scores log(1 − λ).
const LAMBDA = 0.5;
// NOTE: one rare pair seen together has a huge ratio (two words met once in 250k) and would
// outweigh a run of unseen pairs; clipping keeps a lucky pair from excusing word salad.
const MAX_PAIR_LOG_RATIO = 1;

// Tokens that are not words or ordinary punctuation: emoticons, runs of "!!" or "??", symbols,
// and shouted words (ALL CAPS, ≥ 3 letters), which VADER boosts but no narrator of this corpus uses.
const ODD_TOKEN = /[^\p{L}\p{N}.,;:!?'"()\-—$%&]|[!?]{2,}|\.{4,}|^[:;=][-']?[()DPp\][/\\|]|^\p{Lu}{3,}[.,;:!?'"]*$/u;

const REPEAT_EXEMPT = new Set([
  'the',
  'a',
  'an',
  'of',
  'and',
  'to',
  'in',
  'he',
  'i',
  'it',
  'was',
  'that',
  'his',
  'is',
  'with',
  'as',
  'for',
  'but',
  'on',
  'at',
  'by',
  'so',
  'all',
  'or',
  'not',
  'be',
  'you',
  'me',
  'my',
  'they',
  'we',
  'this',
  'from',
  'had',
  'have',
  'her',
  'she',
  'him',
  'their',
  'them',
  'one',
]);

/** The fluency gate of a completion (or summary) text. Defined on any string; 0 for an empty one. */
export function fluencyGate(text: string, stats: CorpusStats, opts: FluencyOptions = {}): FluencyParts {
  const ws = words(text);
  const tokens = text.split(/\s+/).filter(Boolean);
  const odd = tokens.filter((t) => ODD_TOKEN.test(t)).length;
  if (ws.length === 0) return { known: 0, repetition: 0, plausibility: 0, length: 0, fluency: 0 };

  let knownWords = 0;
  for (const w of ws) if (stats.unigrams.has(w) || opts.context?.unigrams.has(w) || /^\p{N}+$/u.test(w)) knownWords++;
  const knownFrac = knownWords / (ws.length + odd);
  const known = clamp01((knownFrac - KNOWN_ZERO) / (KNOWN_FULL - KNOWN_ZERO));

  // Repeats: a content word used again, or a pair of adjacent words used again.
  const seenWords = new Set<string>(),
    seenPairs = new Set<string>();
  let repeats = 0;
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i];
    if (!REPEAT_EXEMPT.has(w)) {
      if (seenWords.has(w)) repeats++;
      seenWords.add(w);
    }
    if (i > 0) {
      const p = `${ws[i - 1]} ${w}`;
      if (seenPairs.has(p)) repeats++;
      seenPairs.add(p);
    }
  }
  const repetition = clamp01(1 - (1.5 * repeats) / ws.length);

  // Plausibility: how much likelier each word is after its predecessor (bigram model,
  // interpolated) than on its own (unigram model): mostly positive for text, negative for word salad.
  const seq = opts.previousWord ? [...words(opts.previousWord).slice(-1), ...ws] : ws;
  const ctx = opts.context;
  const total = stats.tokens + stats.unigrams.size;
  let logRatio = 0,
    pairs = 0;
  for (let i = 1; i < seq.length; i++) {
    const v = seq[i - 1],
      w = seq[i],
      k = `${v} ${w}`;
    const cv = (stats.unigrams.get(v) ?? 0) + (ctx?.unigrams.get(v) ?? 0);
    const cw = (stats.unigrams.get(w) ?? 0) + (ctx?.unigrams.get(w) ?? 0);
    const cvw = (stats.bigrams.get(k) ?? 0) + (ctx?.bigrams.get(k) ?? 0);
    const pUni = (cw + 0.5) / total;
    const pBi = cv > 0 ? cvw / cv : 0;
    logRatio += Math.min(MAX_PAIR_LOG_RATIO, Math.log((LAMBDA * pBi) / pUni + (1 - LAMBDA)));
    pairs++;
  }
  // A one-word text has no pair to judge: it is as plausible as its word is known.
  const plausibility =
    pairs === 0 ? 1 : clamp01((logRatio / pairs - PLAUSIBLE_ZERO) / (PLAUSIBLE_FULL - PLAUSIBLE_ZERO));

  let length = 1;
  if (opts.length) {
    const { min, max, slack } = opts.length;
    const n = tokens.length;
    length = n < min ? n / min : n > max ? clamp01(1 - (n - max) / slack) : 1;
  }
  return { known, repetition, plausibility, length, fluency: known * repetition * plausibility * length };
}
