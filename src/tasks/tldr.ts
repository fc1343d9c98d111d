// The tl;dr task, after Stiennon et al. (2020) at toy scale: a short passage in, a short summary out.
// Passages are 1–4 consecutive sentences of one paragraph or joke (16–40 words); the references are
// extractive (the clause span that covers the passage's most salient words); the gold judge rewards
// coverage of the salient words, faithfulness (no content words the passage lacks) and brevity,
// times the fluency gate.

import { CorpusStats, countText, fluencyGate, idf, TextCounts } from './fluency.js';
import type { TextUnit } from './sources.js';
import type { GoldJudge, TaskExample } from './types.js';
import { clamp01, isContentWord, stem, usableSentence, words, wordCount } from './text.js';

export const TLDR_DESCRIPTION = 'summarize a short passage in at most 15 words (after Stiennon et al. 2020)';
export const TLDR_SUFFIX = '\nTL;DR:';
// NOTE: ~2 tokens a word with a 1,024-token BPE: prompt + summary take ≈ 85 tokens on average,
// 95% under 120, so the task wants a 128-token context.
export const TLDR_GENERATION = { maxNewTokens: 32, stop: ['\n'] };

/** Passages: 1–4 sentences; 16–40 words (20–40 for a single sentence). Summaries: ≤ 15 words. */
export const TLDR_LIMITS = {
  maxSentences: 4,
  minWords: 16,
  minWordsOneSentence: 20,
  maxWords: 40,
  maxSummary: 15,
  minReference: 4,
};

/** How many of the passage's heaviest content stems a summary must cover for full coverage. */
const SALIENT_K = 10;
const W_COVERAGE = 0.6,
  W_FAITHFUL = 0.4;

/** The passage a tl;dr prompt holds: the prompt less its trailing "TL;DR:" line (the whole prompt if absent). */
export function passageOf(prompt: string): string {
  return prompt.replace(/\s*TL;DR:\s*$/i, '').trim();
}

export function tldrPrompt(passage: string): string {
  return passage + TLDR_SUFFIX;
}

/** What the judge knows of one passage, computed once per distinct prompt. */
interface PassageInfo {
  /** Content stem → tf × idf. */
  weight: Map<string, number>;
  /** Sum of the SALIENT_K heaviest weights: full coverage. */
  salientSum: number;
  words: Set<string>;
  wordCount: number;
  counts: TextCounts;
}

function analyze(passage: string, stats: CorpusStats): PassageInfo {
  const ws = words(passage);
  const tf = new Map<string, number>();
  for (const w of ws) if (isContentWord(w)) tf.set(stem(w), (tf.get(stem(w)) ?? 0) + 1);
  const weight = new Map<string, number>();
  for (const [s, n] of tf) weight.set(s, n * idf(stats, s));
  // Ties broken by the stem itself so the judge is deterministic whatever the map's order.
  const top = [...weight.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, SALIENT_K);
  return {
    weight,
    salientSum: top.reduce((a, [, w]) => a + w, 0),
    words: new Set(ws),
    wordCount: wordCount(passage),
    counts: countText(passage),
  };
}

/** Coverage and faithfulness of a summary's words against a passage. */
function contentScores(info: PassageInfo, summaryWords: string[]): { coverage: number; faithfulness: number } {
  const covered = new Set<string>();
  let content = 0,
    supported = 0;
  for (const w of summaryWords) {
    if (!isContentWord(w)) continue;
    content++;
    const s = stem(w);
    if (info.weight.has(s) || info.words.has(w)) {
      supported++;
      covered.add(s);
    }
  }
  let got = 0;
  for (const s of covered) got += info.weight.get(s) ?? 0;
  return {
    coverage: info.salientSum > 0 ? clamp01(got / info.salientSum) : 0,
    // A summary of function words only ("It was the one.") says nothing: not faithful, just empty.
    faithfulness: content > 0 ? supported / content : 0,
  };
}

/** 1 for 3–15 words; fewer ramp to 0; more ramp to 0 at 30; and ≤ half the passage, ramping to 0 at a full copy. */
function brevityOf(n: number, passageWords: number): number {
  const M = TLDR_LIMITS.maxSummary;
  const abs = n < 3 ? n / 3 : n <= M ? 1 : clamp01(1 - (n - M) / M);
  const rel = passageWords > 0 ? clamp01(2 * (1 - n / passageWords)) : 0;
  return Math.min(abs, rel);
}

/**
 * score = 2 × fluency × brevity × (0.6 coverage + 0.4 faithfulness) − 1, in [−1, 1].
 * coverage: the tf-idf weight of the passage's content stems the summary uses, over the weight of
 * its 10 heaviest (capped at 1); faithfulness: the share of the summary's content words found in the
 * passage; the fluency gate counts the passage's own word pairs as seen.
 */
export function tldrGold(stats: CorpusStats): GoldJudge {
  const cache = new Map<string, PassageInfo>();
  const info = (prompt: string): PassageInfo => {
    let x = cache.get(prompt);
    if (!x) {
      if (cache.size >= 20000) cache.clear(); // bounded: a long PPO run sees many prompts
      x = analyze(passageOf(prompt), stats);
      cache.set(prompt, x);
    }
    return x;
  };
  const explain = (prompt: string, completion: string): Record<string, number> => {
    const p = info(prompt);
    const { coverage, faithfulness } = contentScores(p, words(completion));
    const brevity = brevityOf(wordCount(completion), p.wordCount);
    const f = fluencyGate(completion, stats, { context: p.counts });
    const score = 2 * f.fluency * brevity * (W_COVERAGE * coverage + W_FAITHFUL * faithfulness) - 1;
    return {
      score,
      coverage,
      faithfulness,
      brevity,
      fluency: f.fluency,
      known: f.known,
      repetition: f.repetition,
      plausibility: f.plausibility,
    };
  };
  return { name: 'tldr-coverage×faithfulness×brevity×fluency', score: (p, c) => explain(p, c).score, explain };
}

// ---- references ----

const LEADING_JUNK = /^(?:(?:and|but|or|so|yet|nor|then)\b[,]?\s*|[\s,;:—\-'"(]+)+/i;

/** A clause span made presentable: no stray quotes or leading conjunction, a capital, a full stop. */
export function tidySummary(span: string): string {
  let s = span.replace(/"/g, '').replace(/\s+/g, ' ').trim();
  s = s
    .replace(LEADING_JUNK, '')
    .replace(/[\s,;:—\-'(]+$/, '')
    .trim();
  if (!s) return s;
  s = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : s + '.';
}

/**
 * The extractive reference of a passage: among the spans of consecutive clauses (cut at , ; : and
 * dashes) of one sentence that have 4–15 words, the one whose content stems carry the most tf-idf
 * weight of the passage, ties going to the shorter and then the earlier. Null when no clause span
 * fits (a sentence with one 16-word clause, say).
 */
export function extractiveReference(passage: string, sentences: string[], stats: CorpusStats): string | null {
  const info = analyze(passage, stats);
  let best: { text: string; got: number; n: number } | null = null;
  for (const sentence of sentences) {
    // Clauses keep their closing mark, so a span of several reads as written ("In life—as we
    // have seen—this plane"); tidySummary drops the span's last one.
    const clauses = sentence.match(/[^,;:—]+(?:[,;:]\s*|—\s*|$)|—\s*/g) ?? [];
    for (let a = 0; a < clauses.length; a++) {
      for (let b = a; b < clauses.length; b++) {
        const text = tidySummary(clauses.slice(a, b + 1).join(''));
        const n = wordCount(text);
        if (n > TLDR_LIMITS.maxSummary) break;
        if (n < TLDR_LIMITS.minReference) continue;
        const got = contentScores(info, words(text)).coverage;
        if (!best || got > best.got + 1e-12 || (Math.abs(got - best.got) <= 1e-12 && n < best.n))
          best = { text, got, n };
      }
    }
  }
  return best && best.got > 0 ? best.text : null;
}

export interface TldrExample extends TaskExample {
  passage: string;
}

/**
 * A unit's passages: windows of 1–4 consecutive usable sentences within the word limits, each with
 * its extractive reference. `overlapping` gives every window (training: more demonstrations of
 * the same text cut differently); otherwise windows do not share sentences (eval: distinct prompts).
 */
export function tldrExamples(unit: TextUnit, stats: CorpusStats, overlapping: boolean): TldrExample[] {
  const L = TLDR_LIMITS;
  const ss = unit.sentences;
  const ok = ss.map(usableSentence);
  const n = ss.map(wordCount);
  const out: TldrExample[] = [];
  for (let i = 0; i < ss.length; i++) {
    let took = 0;
    // Longest windows first, so the non-overlapping walk prefers fuller passages.
    for (let len = L.maxSentences; len >= 1; len--) {
      if (i + len > ss.length || !ok.slice(i, i + len).every(Boolean)) continue;
      const total = n.slice(i, i + len).reduce((a, b) => a + b, 0);
      if (total > L.maxWords || total < (len === 1 ? L.minWordsOneSentence : L.minWords)) continue;
      const sentences = ss.slice(i, i + len);
      const passage = sentences.join(' ');
      const reference = extractiveReference(passage, sentences, stats);
      if (!reference) continue;
      out.push({ prompt: tldrPrompt(passage), completion: ' ' + reference, passage });
      took = len;
      if (!overlapping) break;
    }
    if (!overlapping && took) i += took - 1;
  }
  return out;
}
