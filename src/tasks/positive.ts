// The "positive continuation" task of Ziegler et al. (2019), the predecessor of Stiennon et al.:
// continue the first words of a sentence so that the sentence reads positively. The prompts are
// the opening words of sentences from Moby-Dick and the jokes; the demonstrations are the rest of
// those sentences as written; the gold judge is VADER's sentiment times the fluency gate.

import { CorpusStats, fluencyGate } from './fluency.js';
import { loadPackage, TextUnit } from './sources.js';
import { unitRng } from './split-units.js';
import type { GoldJudge, TaskExample } from './types.js';
import { usableSentence, words, wordCount } from './text.js';

export const POSITIVE_DESCRIPTION =
  'continue the opening words of a sentence so that it reads positively (Ziegler et al. 2019)';
// NOTE: a 1,024-token BPE trained on this corpus spends ~2 tokens a word on Melville: 14 words can take 35.
export const POSITIVE_GENERATION = { maxNewTokens: 40, stop: ['\n'] };

/**
 * Sentences used: 8–30 words, cut so that a 3–16-word prompt leaves a 5–14-word completion, and
 * prompt + completion fit a 64-token context (35 tokens on average, 95% within 61).
 */
export const POSITIVE_LIMITS = {
  minWords: 8,
  maxWords: 30,
  minPrompt: 3,
  maxShortPrompt: 6,
  minCompletion: 5,
  maxCompletion: 14,
};

/** The fluency gate's length range for a completion: 4–20 words in full, 0 from 35. */
const LENGTH = { min: 4, max: 20, slack: 15 };

interface Vader {
  SentimentIntensityAnalyzer: { polarity_scores(text: string): { compound: number } };
}
let vader: Vader | undefined;

/** VADER's compound score in [−1, 1] of a lower-cased text. */
export function vaderCompound(text: string): number {
  // NOTE: lower-cased because this port misses negations in capitals ("NOT GOOD" scores +0.44) and
  // boosts ALL-CAPS words, both easy wins for a policy that the people VADER stands for would not give.
  vader ??= loadPackage<Vader>('vader-sentiment');
  const c = vader.SentimentIntensityAnalyzer.polarity_scores(text.toLowerCase()).compound;
  return Number.isFinite(c) ? c : 0;
}

/**
 * score = −1 + fluency × (1 + sentiment), in [−1, 1]: a fluent text scores its sentiment; a text
 * that fails the gate sinks to −1, below even a fluent negative one, so gibberish never wins.
 * Sentiment is VADER's compound of prompt + completion, the sentence a reader sees: judging the
 * completion alone would let "He was not" + " happy at all." pass for positive. Within one
 * prompt, the prompt's own words shift every completion alike, so labels are unaffected.
 */
export function positiveGold(stats: CorpusStats): GoldJudge {
  const explain = (prompt: string, completion: string): Record<string, number> => {
    const sentiment = vaderCompound(prompt + completion);
    const f = fluencyGate(completion, stats, { length: LENGTH, previousWord: words(prompt).at(-1) });
    const score = -1 + f.fluency * (1 + sentiment);
    return {
      score,
      sentiment,
      fluency: f.fluency,
      known: f.known,
      repetition: f.repetition,
      plausibility: f.plausibility,
      length: f.length,
    };
  };
  return { name: 'vader-sentiment×fluency', score: (p, c) => explain(p, c).score, explain };
}

export interface PositiveExample extends TaskExample {
  /** The whole sentence (prompt + completion), to keep duplicates across the split out of eval. */
  sentence: string;
}

/**
 * A unit's examples: each usable sentence cut after 3–6 words (drawn per sentence), but so that
 * the rest keeps 5–14 words. The completion keeps its leading space, as a tokenizer that
 * attaches spaces to the following word (GPT-2's) expects.
 */
export function positiveExamples(unit: TextUnit, seed: number): PositiveExample[] {
  const rng = unitRng(seed, unit.id, 'positive');
  const out: PositiveExample[] = [];
  const L = POSITIVE_LIMITS;
  for (const s of unit.sentences) {
    const n = wordCount(s);
    // drawn for every sentence, so the stream stays aligned
    const draw = L.minPrompt + rng.int(L.maxShortPrompt - L.minPrompt + 1);
    if (n < L.minWords || n > L.maxWords || !usableSentence(s)) continue;
    const k = Math.min(Math.max(draw, n - L.maxCompletion), n - L.minCompletion);
    const tokens = s.split(' ');
    out.push({ prompt: tokens.slice(0, k).join(' '), completion: ' ' + tokens.slice(k).join(' '), sentence: s });
  }
  return out;
}
