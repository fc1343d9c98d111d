// loadTask: builds a built-in task from the packaged text, deterministically by seed.
// Both tasks split by unit (paragraph or joke): eval prompts come from held-out units whose text
// is kept out of the corpus; demonstrations and training prompts come from the rest.

import { RNG } from '../engine/rng.js';
import { buildCorpusStats, CorpusStats } from './fluency.js';
import { POSITIVE_DESCRIPTION, POSITIVE_GENERATION, positiveExamples, positiveGold } from './positive.js';
import { loadUnits, TextUnit } from './sources.js';
import { quickSubset, splitUnits } from './split-units.js';
import { wordCount } from './text.js';
import { TLDR_DESCRIPTION, TLDR_GENERATION, tldrExamples, tldrGold } from './tldr.js';
import type { LoadTaskOptions, TaskExample, TaskName, TaskSpec } from './types.js';

export const TASK_NAMES: TaskName[] = ['positive', 'tldr'];

/** Sizes: eval prompts wanted, and the quick variant's share of the text. */
export const TASK_SIZES = { evalPrompts: 400, quickEvalPrompts: 48, quickFraction: 0.15 };

// Eval units are drawn a little past the target: some of their examples are dropped below
// (a sentence that also occurs elsewhere in the corpus, a repeated prompt).
const EVAL_OVERDRAW = 1.15;
// Sentences this short ("Aye, aye!") may recur in the corpus without leaking anything.
const LEAK_MIN_WORDS = 5;

const cache = new Map<string, TaskSpec>();

/**
 * A built-in task by name. Built once per (name, seed, quick) in a process (a few seconds for the
 * full tasks), then served from memory; each call returns fresh arrays.
 */
export function loadTask(name: TaskName, options: LoadTaskOptions = {}): TaskSpec {
  const { seed, quick } = checkOptions(name, options);
  const key = `${name}:${seed}:${quick}`;
  let spec = cache.get(key);
  if (!spec) {
    spec = buildTask(name, options);
    cache.set(key, spec);
  }
  // Fresh arrays, so a caller that edits its copy does not change the next caller's.
  return {
    ...spec,
    corpus: [...spec.corpus],
    sft: [...spec.sft],
    trainPrompts: [...spec.trainPrompts],
    eval: [...spec.eval],
    generation: { ...spec.generation, stop: [...spec.generation.stop] },
    stats: { ...spec.stats },
  };
}

/** Builds a task afresh, without the cache (tests use it to check that builds are deterministic). */
export function buildTask(name: TaskName, options: LoadTaskOptions = {}): TaskSpec {
  const { seed, quick } = checkOptions(name, options);
  const all = loadUnits();
  const units = quick ? quickSubset(all, seed, TASK_SIZES.quickFraction) : [...all];
  const evalTarget = quick ? TASK_SIZES.quickEvalPrompts : TASK_SIZES.evalPrompts;
  return name === 'positive' ? buildPositive(units, seed, evalTarget) : buildTldr(units, seed, evalTarget);
}

function checkOptions(name: TaskName, options: LoadTaskOptions): { seed: number; quick: boolean } {
  if (!TASK_NAMES.includes(name)) {
    throw new Error(`unknown task ${JSON.stringify(name)}; the built-in tasks are ${TASK_NAMES.join(', ')}`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`task seed must be a non-negative integer, got ${JSON.stringify(options.seed)}`);
  const quick = options.quick ?? false;
  if (typeof quick !== 'boolean')
    throw new Error(`task option "quick" must be true or false, got ${JSON.stringify(options.quick)}`);
  return { seed, quick };
}

/** The train side's corpus and its statistics, and a test for text leaking from eval into it. */
function corpusOf(trainUnits: TextUnit[], heldOut: number) {
  const corpus = trainUnits.map((u) => u.text);
  const stats: CorpusStats = buildCorpusStats(corpus);
  const joined = corpus.join('\n');
  const leaks = (sentence: string) => wordCount(sentence) >= LEAK_MIN_WORDS && joined.includes(sentence);
  const sentences = trainUnits.reduce((a, u) => a + u.sentences.length, 0);
  return {
    corpus,
    stats,
    leaks,
    taskStats: {
      corpusDocuments: corpus.length,
      corpusChars: joined.length - Math.max(0, corpus.length - 1),
      corpusSentences: sentences,
      heldOutDocuments: heldOut,
    },
  };
}

function uniqueBy<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}

/** Demonstrations not sharing a prompt with eval, de-duplicated, in a seeded order; and their prompts. */
function trainSide(examples: TaskExample[], evalPrompts: Set<string>, seed: number, salt: number) {
  const rng = new RNG((seed ^ salt) >>> 0);
  const sft = rng
    .shuffle(
      uniqueBy(
        examples.filter((e) => !evalPrompts.has(e.prompt)),
        (e) => `${e.prompt}\u0000${e.completion}`,
      ),
    )
    .map((e) => ({ prompt: e.prompt, completion: e.completion }));
  return {
    sft,
    trainPrompts: uniqueBy(
      sft.map((e) => e.prompt),
      (p) => p,
    ),
  };
}

function buildPositive(units: TextUnit[], seed: number, evalTarget: number): TaskSpec {
  const split = splitUnits(units, seed, Math.ceil(evalTarget * EVAL_OVERDRAW), (u) => positiveExamples(u, seed));
  const { corpus, stats, leaks, taskStats } = corpusOf(split.trainUnits, split.evalUnits.length);
  const evalSet = uniqueBy(
    split.evalExamples.filter((e) => !leaks(e.sentence)),
    (e) => e.prompt,
  )
    .slice(0, evalTarget)
    .map((e) => ({ prompt: e.prompt, reference: e.completion }));
  const { sft, trainPrompts } = trainSide(
    split.trainUnits.flatMap((u) => positiveExamples(u, seed)),
    new Set(evalSet.map((e) => e.prompt)),
    seed,
    0x705171fe,
  );
  return {
    name: 'positive',
    description: POSITIVE_DESCRIPTION,
    corpus,
    sft,
    trainPrompts,
    eval: evalSet,
    generation: { ...POSITIVE_GENERATION, stop: [...POSITIVE_GENERATION.stop] },
    gold: positiveGold(stats),
    stats: taskStats,
  };
}

// The split only needs to know which units give eval passages, and whether a passage has a
// reference does not depend on the corpus statistics (only which span is chosen does).
const NO_STATS: CorpusStats = { unigrams: new Map(), bigrams: new Map(), tokens: 0, docFreq: new Map(), documents: 0 };

function buildTldr(units: TextUnit[], seed: number, evalTarget: number): TaskSpec {
  const split = splitUnits(units, seed, Math.ceil(evalTarget * EVAL_OVERDRAW), (u) => tldrExamples(u, NO_STATS, false));
  const { corpus, stats, leaks, taskStats } = corpusOf(split.trainUnits, split.evalUnits.length);
  // Rebuilt with the corpus's statistics: references pick spans by the judge's own tf-idf.
  const evalSet = uniqueBy(
    split.evalUnits.flatMap((u) =>
      tldrExamples(u, stats, false).filter((e) => !u.sentences.some((s) => e.passage.includes(s) && leaks(s))),
    ),
    (e) => e.prompt,
  );
  const rng = new RNG((seed ^ 0x7d1a5eed) >>> 0);
  const evalOut = rng
    .shuffle(evalSet)
    .slice(0, evalTarget)
    .map((e) => ({ prompt: e.prompt, reference: e.completion }));
  const { sft, trainPrompts } = trainSide(
    split.trainUnits.flatMap((u) => tldrExamples(u, stats, true)),
    new Set(evalOut.map((e) => e.prompt)),
    seed,
    0x7d1a7a1e,
  );
  return {
    name: 'tldr',
    description: TLDR_DESCRIPTION,
    corpus,
    sft,
    trainPrompts,
    eval: evalOut,
    generation: { ...TLDR_GENERATION, stop: [...TLDR_GENERATION.stop] },
    gold: tldrGold(stats),
    stats: taskStats,
  };
}
