// Plain-text helpers shared by the built-in tasks and their gold judges: cleaning, paragraph and
// sentence splitting, word tokens, a light stemmer and a stopword list. Kept dependency-free and
// fast because the gold judges call them thousands of times a second.

/** Straight quotes, one space between words, ASCII dots for the ellipsis character. */
export function normalizeText(s: string): string {
  return s
    .replace(/[\u2018\u2019\u00b4`]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\u2026/g, '...')
    .replace(/\u2013/g, '-')
    .replace(/[ \t\u00a0]+/g, ' ')
    .trim();
}

/** Paragraphs: blocks separated by a blank line, each joined into one line. */
export function splitParagraphs(text: string): string[] {
  return text
    .split(/\r?\n\s*\r?\n/)
    .map((p) => normalizeText(p.replace(/\s*\r?\n\s*/g, ' ')))
    .filter((p) => p.length > 0);
}

// Words after which a full stop does not end a sentence ("Mr. Starbuck", "St. Paul's").
const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'st',
  'capt',
  'messrs',
  'jr',
  'sr',
  'esq',
  'rev',
  'prof',
  'gen',
  'col',
  'lieut',
  'gov',
  'vs',
  'viz',
  'cf',
  'no',
  'vol',
  'ch',
  'p',
  'pp',
  'i.e',
  'e.g',
  'etc',
  'mt',
  'ft',
  'lb',
  'oz',
]);

/**
 * Sentences of one paragraph: a cut after . ! or ? (and any closing quotes or brackets) when
 * whitespace and a capital letter, digit or opening quote follow, except after an abbreviation or
 * a single capital other than "I" (an initial, "J. Ross Browne").
 */
export function splitSentences(paragraph: string): string[] {
  const text = normalizeText(paragraph);
  const out: string[] = [];
  const re = /([.!?]+)(["')\]]*)\s+(?=["'([]?[A-Z0-9])/g;
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[1] === '.') {
      const before = /([\w.]+)$/.exec(text.slice(start, m.index))?.[1] ?? '';
      if (ABBREVIATIONS.has(before.toLowerCase()) || /^[A-HJ-Z]$/.test(before)) continue; // not "I": "said I. Then"
    }
    const end = m.index + m[1].length + m[2].length;
    const s = text.slice(start, end).trim();
    if (s) out.push(s);
    start = m.index + m[0].length;
  }
  const rest = text.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

const WORD_RE = /[\p{L}\p{N}]+(?:'[\p{L}]+)*/gu;

/** Lower-case word tokens ("don't" is one word, "sea-captain" two). */
export function words(s: string): string[] {
  return (
    s
      .toLowerCase()
      .replace(/[\u2018\u2019]/g, "'")
      .match(WORD_RE) ?? []
  );
}

/** Number of whitespace-separated tokens: the length unit of prompts, completions and passages. */
export function wordCount(s: string): number {
  const t = s.trim();
  return t ? t.split(/\s+/).length : 0;
}

/**
 * A light suffix stripper so that "whales", "whaling" and "whaled" match "whale" when the tl;dr
 * judge compares a summary's words with its passage's. Not Porter: just the inflections that
 * matter for matching, and never shorter than three letters.
 */
export function stem(word: string): string {
  let w = word.replace(/'s$/, '').replace(/'$/, '');
  if (w.length <= 3 || /(?:ss|us|is)$/.test(w)) return w;
  let suffix = false;
  if (w.endsWith('ies') && w.length > 4) w = w.slice(0, -3) + 'y';
  else if (/(?:sh|ch|x|z|ss)es$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('ing') && w.length > 5) {
    w = w.slice(0, -3);
    suffix = true;
  } else if (w.endsWith('ed') && w.length > 4) {
    w = w.slice(0, -2);
    suffix = true;
  } else if (w.endsWith('s')) w = w.slice(0, -1);
  if (w.endsWith('e') && w.length > 4) w = w.slice(0, -1);
  // "running" → "runn" → "run": undouble the consonant that -ing/-ed doubled.
  if (suffix && /([bdgmnprtz])\1$/.test(w) && w.length > 3) w = w.slice(0, -1);
  return w;
}

/**
 * Function words and the commonest verbs and adverbs: not "content" for the tl;dr judge, so a
 * summary may use them freely without being called unfaithful, and they carry no salience.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  `
a about above after again against all almost also am among an and another any are aren't as at be because been before
being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
either else enough even ever every few for from further get gets got had hadn't has hasn't have haven't having he he'd
he'll he's her here here's hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it
it's its itself just least less let's like made make many may me might mine more most much must mustn't my myself
neither never no nor not now o of off oft often on once one only or other others ought our ours ourselves out over own
perhaps quite rather said same say says shall shan't she she'd she'll she's should shouldn't since so some still such
than that that's the thee their theirs them themselves then there there's these they they'd they'll they're they've
thine this those thou though through thus thy till to too toward towards under until unto up upon us very was wasn't
we we'd we'll we're we've were weren't what what's whatever when when's where where's whether which while who who's
whom whose why why's will with within without won't would wouldn't ye yet you you'd you'll you're you've your yours
yourself yourselves
`
    .trim()
    .split(/\s+/),
);

/** Content words: not stopwords, and not bare numbers. */
export function isContentWord(w: string): boolean {
  return !STOPWORDS.has(w) && !/^\p{N}+$/u.test(w);
}

/** Whether a sentence can make a prompt: a capital start, a final stop, no footnote marks, balanced quotes. */
export function usableSentence(s: string): boolean {
  return /^["']?[A-Z]/.test(s) && /[.!?]["']?$/.test(s) && !/[*[\]]/.test(s) && (s.match(/"/g)?.length ?? 0) % 2 === 0;
}

/** x clamped to [0, 1]. */
export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
