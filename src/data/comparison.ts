// The one record of human (or programmatic) judgement: a prompt, two or more completions, and a
// ranking of some of them, best first. Pairs for the reward model and DPO, chains for Chain of
// Hindsight, and filtered sets for ReST are all derived from it. Our JSONL format is exactly this
// record, one per line.

import { FieldError } from './field-error.js';
import {
  compact,
  describe,
  isAbsent,
  isObject,
  optionalNumber,
  optionalString,
  requireString,
  requireText,
} from './formats/fields.js';
import { type Message, parseMessages } from './formats/chat.js';

/**
 * A conversational comparison's messages (TRL's conversational preference format), kept beside the texts so
 * that a model with a chat template renders them with it; the texts are their plain rendering (chat.ts).
 */
export interface ComparisonChat {
  /** The conversation so far; it ends where an assistant answer is due. */
  prompt: Message[];
  /** Parallel to Comparison.completions: each answer's messages, the first an assistant message. */
  completions: Message[][];
}

export interface Comparison {
  prompt: string;
  /** ≥ 2 non-empty strings. */
  completions: string[];
  /** Indices into completions, best first: ≥ 2 distinct indices (a pair is [winner, loser]). */
  ranking: number[];
  /** In [0, 1]: 0 = the judge was guessing, 1 = certain (see each converter for its mapping). */
  confidence?: number;
  /** TRL's margin: a preference strength ≥ 0, subtracted inside the Bradley-Terry sigmoid. */
  margin?: number;
  /** Written feedback (Chain of Hindsight). */
  feedback?: string;
  labeler?: string;
  /** ISO 8601, when the judgement was made. */
  time?: string;
  /** Where it came from: `<format>:<file name>` for converted records. */
  source?: string;
  /** In the "hard" split: scored pairs of similar length and time (see scored.ts). */
  hard?: boolean;
  meta?: Record<string, unknown>;
  /** The messages, when the record was conversational. */
  chat?: ComparisonChat;
}

/** One (better, worse) pair, as TRL's reward and DPO trainers take them. */
export interface Pair {
  prompt: string;
  chosen: string;
  rejected: string;
  margin?: number;
  confidence?: number;
  hard?: boolean;
  /** The messages, when the comparison was conversational. */
  chat?: { prompt: Message[]; chosen: Message[]; rejected: Message[] };
}

const FIELDS = [
  'prompt',
  'completions',
  'ranking',
  'confidence',
  'margin',
  'feedback',
  'labeler',
  'time',
  'source',
  'hard',
  'meta',
  'chat',
];

/** The (better, worse) completion indices of a ranking, best first: all K(K−1)/2 pairs, as in InstructGPT. */
export function rankingPairs(ranking: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < ranking.length; i++)
    for (let j = i + 1; j < ranking.length; j++) out.push([ranking[i], ranking[j]]);
  return out;
}

/** All K(K−1)/2 (better, worse) pairs of a ranking of K, as in InstructGPT. */
export function toPairs(c: Comparison): Pair[] {
  return rankingPairs(c.ranking).map(([w, l]) =>
    compact({
      prompt: c.prompt,
      chosen: c.completions[w],
      rejected: c.completions[l],
      margin: c.margin,
      confidence: c.confidence,
      hard: c.hard,
      chat: c.chat && { prompt: c.chat.prompt, chosen: c.chat.completions[w], rejected: c.chat.completions[l] },
    }),
  );
}

/**
 * The key that keeps related comparisons on one side of a train/eval split (use with
 * split.ts's splitByKey): the prompt, plus the scored group or bucket when there is one.
 * NOTE: all VADER pairs share one prompt, so splitting them by prompt alone puts every pair on
 * the same side; their buckets (meta.group) split them, and no text is in both sides.
 */
export function splitKey(c: Comparison): string {
  const g = c.meta?.group;
  return typeof g === 'string' ? `${c.prompt}\u0000${g}` : c.prompt;
}

/**
 * Validates one record of our own JSONL format. Unknown keys are errors (a misspelt
 * "confidance" would otherwise vanish): put anything else under "meta".
 */
export function parseComparison(obj: Record<string, unknown>): Comparison {
  for (const k of Object.keys(obj)) {
    if (!FIELDS.includes(k))
      throw new FieldError(k, `unknown field; a comparison has ${FIELDS.join(', ')} (put anything else under "meta")`);
  }
  const prompt = requireString(obj.prompt, 'prompt');
  if (!Array.isArray(obj.completions)) {
    throw new FieldError(
      'completions',
      obj.completions === undefined
        ? 'missing; expected an array of ≥ 2 strings'
        : `must be an array of ≥ 2 strings, got ${describe(obj.completions)}`,
    );
  }
  const completions = obj.completions.map((c, i) => requireText(c, `completions[${i}]`));
  if (completions.length < 2)
    throw new FieldError('completions', `needs at least 2 completions to compare, got ${completions.length}`);
  const ranking = parseRanking(obj.ranking, completions);
  const c: Comparison = { prompt, completions, ranking };
  c.confidence = optionalNumber(obj.confidence, 'confidence', 0, 1);
  c.margin = optionalNumber(obj.margin, 'margin', 0);
  c.feedback = optionalString(obj.feedback, 'feedback');
  c.labeler = optionalString(obj.labeler, 'labeler');
  c.time = optionalTime(obj.time, 'time');
  c.source = optionalString(obj.source, 'source');
  if (!isAbsent(obj.hard)) {
    if (typeof obj.hard !== 'boolean')
      throw new FieldError('hard', `must be true or false when given, got ${describe(obj.hard)}`);
    c.hard = obj.hard;
  }
  if (!isAbsent(obj.meta)) {
    if (!isObject(obj.meta)) throw new FieldError('meta', `must be an object when given, got ${describe(obj.meta)}`);
    c.meta = obj.meta;
  }
  if (!isAbsent(obj.chat)) c.chat = parseChat(obj.chat, completions.length);
  return compact(c);
}

/** A comparison's "chat": {"prompt": [messages], "completions": [[messages], …]}, one list per completion. */
export function parseChat(v: unknown, count: number): ComparisonChat {
  if (!isObject(v))
    throw new FieldError('chat', `must be {"prompt": [...], "completions": [[...], ...]}, got ${describe(v)}`);
  const prompt = parseMessages(v.prompt, 'chat.prompt');
  if (!Array.isArray(v.completions) || v.completions.length !== count)
    throw new FieldError(
      'chat.completions',
      `must be a list of ${count} message lists, one per completion, got ${describe(v.completions)}`,
    );
  const completions = v.completions.map((m, i) => {
    const msgs = parseMessages(m, `chat.completions[${i}]`);
    if (msgs[0]?.role !== 'assistant')
      throw new FieldError(`chat.completions[${i}][0].role`, 'must be "assistant" (the answer to the prompt)');
    return msgs;
  });
  return { prompt, completions };
}

function parseRanking(v: unknown, completions: string[]): number[] {
  const K = completions.length;
  if (!Array.isArray(v)) {
    throw new FieldError(
      'ranking',
      `${v === undefined ? 'missing' : `must be an array, got ${describe(v)}`}; give the indices of completions ` +
        `best first, e.g. [1, 0] when completions[1] won`,
    );
  }
  if (v.length < 2) throw new FieldError('ranking', `needs at least 2 indices (winner, loser), got ${v.length}`);
  const seen = new Set<number>();
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= K) {
      throw new FieldError(
        `ranking[${i}]`,
        `must be an index into completions (an integer in [0, ${K - 1}]), got ${describe(x)}`,
      );
    }
    if (seen.has(x))
      throw new FieldError(`ranking[${i}]`, `index ${x} appears twice; a ranking lists each completion at most once`);
    seen.add(x);
  });
  const ranked = v as number[];
  // NOTE: identical ranked texts would train "A beats A": a constant loss that teaches nothing.
  for (let i = 0; i < ranked.length; i++) {
    for (let j = i + 1; j < ranked.length; j++) {
      if (completions[ranked[i]] === completions[ranked[j]]) {
        throw new FieldError(
          'completions',
          `completions[${ranked[i]}] and completions[${ranked[j]}] are identical but ranked against each other; ` +
            `remove one from the ranking`,
        );
      }
    }
  }
  return ranked;
}

/** An optional ISO 8601 date or date-time string. */
export function optionalTime(v: unknown, field: string): string | undefined {
  const s = optionalString(v, field);
  if (s === undefined) return undefined;
  if (
    !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) ||
    Number.isNaN(Date.parse(s))
  ) {
    throw new FieldError(field, `must be an ISO 8601 date or time such as "2024-05-01T12:30:00Z", got ${describe(s)}`);
  }
  return s;
}

export interface ComparisonStats {
  records: number;
  prompts: number;
  meanCompletions: number;
  pairs: number;
  hardPairs: number;
  meanPromptChars: number;
  meanChosenChars: number;
  meanRejectedChars: number;
  /** Fraction of pairs whose chosen text is longer: far from 0.5 means length alone predicts preference. */
  chosenLonger: number;
  withConfidence: number;
  withFeedback: number;
}

/** Summary counts of a set of comparisons (`rlhf data stats`). */
export function comparisonStats(cs: Comparison[]): ComparisonStats {
  const prompts = new Set<string>();
  let completions = 0,
    pairs = 0,
    hardPairs = 0,
    promptChars = 0,
    chosenChars = 0,
    rejectedChars = 0,
    longer = 0,
    conf = 0,
    fb = 0;
  for (const c of cs) {
    prompts.add(c.prompt);
    completions += c.completions.length;
    promptChars += c.prompt.length;
    if (c.confidence !== undefined) conf++;
    if (c.feedback) fb++;
    for (const p of toPairs(c)) {
      pairs++;
      if (p.hard) hardPairs++;
      chosenChars += p.chosen.length;
      rejectedChars += p.rejected.length;
      if (p.chosen.length > p.rejected.length) longer++;
    }
  }
  const per = (x: number, n: number) => (n ? x / n : 0);
  return {
    records: cs.length,
    prompts: prompts.size,
    meanCompletions: per(completions, cs.length),
    pairs,
    hardPairs,
    meanPromptChars: per(promptChars, cs.length),
    meanChosenChars: per(chosenChars, pairs),
    meanRejectedChars: per(rejectedChars, pairs),
    chosenLonger: per(longer, pairs),
    withConfidence: conf,
    withFeedback: fb,
  };
}
