// VADER's human sentiment ratings (Hutto & Gilbert, ICWSM 2014: `*_GroundTruth.txt`): each short
// text with the mean of ~20 people's ratings on −4 (most negative) … +4 (most positive).
//
// File: `id<TAB>mean_rating<TAB>text`, CRLF line ends (the last line may lack one), no header.
// Cleaning, because this is real data:
// - a text containing tabs keeps them (everything after the second tab is the text);
// - HTML entities left by the Twitter API (&amp; &lt; &gt; &quot; &#39; &#NNN;) are decoded;
// - the NYT snippets write quotation marks as two apostrophes (''like this''): turned into ";
// - a text wrapped CSV-style in quotes with doubled inner quotes ("say ""hi""") is unwrapped;
// - surrounding whitespace is trimmed.
// Bad lines (missing tab, rating not a number in [−4, 4], empty text) are reported with their
// line; the rest are read.

import { RecordIssue, readTextFile } from './jsonl.js';
import { PairOptions, SCORED_DEFAULTS, ScoredItem } from './scored.js';

/**
 * The prompt of VADER pairs. Honest about what the preference means: the winner is the text
 * people rated as more positive in sentiment (not better written, not more helpful).
 */
export const VADER_PROMPT = 'Write a short text with a positive sentiment:\n';

/**
 * VADER's texts have no group: they are bucketed. Ratings are means of ~20 people on −4..4, so
 * gaps under 0.5 are within rating noise. No times exist, so the hard split is length alone.
 */
export const VADER_DEFAULTS: PairOptions = {
  ...SCORED_DEFAULTS,
  minScoreGap: 0.5,
  maxLengthRatio: 2,
  bucketSize: 10,
  confidenceScale: 2,
  prompt: VADER_PROMPT,
  source: 'vader',
};

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'" };

export function cleanVaderText(raw: string): string {
  let s = raw.trim();
  const m = /^"((?:[^"]|"")*)"$/.exec(s);
  if (m?.[1].includes('""')) s = m[1].replace(/""/g, '"');
  s = s.replace(/&(amp|lt|gt|quot|apos|#39);/g, (_, e: string) => ENTITIES[e]);
  s = s.replace(/&#(\d{1,6});/g, (all, d: string) => (Number(d) <= 0x10ffff ? String.fromCodePoint(Number(d)) : all));
  s = s.replace(/''/g, '"');
  return s.trim();
}

export function readVader(path: string): { items: ScoredItem[]; issues: RecordIssue[]; lines: number } {
  const text = readTextFile(path).replace(/^\uFEFF/, '');
  const items: ScoredItem[] = [];
  const issues: RecordIssue[] = [];
  let lines = 0;
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    if (!raw.trim()) return;
    lines++;
    const line = i + 1;
    const parts = raw.split('\t');
    if (parts.length < 3) {
      issues.push({
        file: path,
        line,
        message: `expected id<TAB>mean_rating<TAB>text, found ${parts.length - 1} tab(s)`,
      });
      return;
    }
    const rating = Number(parts[1].trim());
    if (parts[1].trim() === '' || !Number.isFinite(rating) || rating < -4 || rating > 4) {
      issues.push({
        file: path,
        line,
        field: 'mean_rating',
        message: `must be a number in [-4, 4], got ${JSON.stringify(parts[1].slice(0, 30))}`,
      });
      return;
    }
    const t = cleanVaderText(parts.slice(2).join('\t'));
    if (!t) {
      issues.push({ file: path, line, field: 'text', message: 'is empty' });
      return;
    }
    items.push({ id: parts[0].trim(), text: t, score: rating });
  });
  return { items, issues, lines };
}
