// Reading comparisons from any supported format, detected from the first readable record (or the
// .txt/.tsv extension for VADER ratings). Every record that cannot be used is reported with its
// file, line and field; none is dropped silently.

import { basename } from 'node:path';
import { Comparison, parseComparison } from './comparison.js';
import { RecordIssue, readJsonl, readTextFile } from './jsonl.js';
import { parseOpenAI } from './formats/openai.js';
import { parseTRL } from './formats/trl.js';
import { pairUnpaired, parseUnpaired, UnpairedItem } from './formats/trl-unpaired.js';
import { PairOptions, PairStats, pairScored, parseScoredItem, SCORED_DEFAULTS, ScoredItem } from './scored.js';
import { readVader, VADER_DEFAULTS } from './vader.js';

export const FORMAT_NAMES = ['comparison', 'trl', 'trl-unpaired', 'openai', 'scored', 'vader'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** What each format looks like, for error messages and --help. */
export const FORMAT_HELP: Record<FormatName, string> = {
  comparison: '{"prompt", "completions": [...], "ranking": [best, …]} (our own)',
  trl: 'TRL preference {"prompt"?, "chosen", "rejected", "margin"?} (text or messages)',
  'trl-unpaired': 'TRL unpaired {"prompt", "completion", "label": true|false}',
  openai: 'OpenAI summarize-from-feedback {"info", "summaries", "choice", …}',
  scored: 'scored items {"group"?, "prompt"?, "text", "score", "time"?}',
  vader: 'VADER ratings, id<TAB>mean_rating<TAB>text (.txt/.tsv)',
};

export interface ReadComparisonsResult {
  comparisons: Comparison[];
  issues: RecordIssue[];
  /** Non-empty lines read. */
  lines: number;
  format: FormatName;
  /** For scored and VADER items: how the pairs were formed. */
  pairStats?: PairStats;
}

/** The format a record's keys announce, or null. */
export function detectFormat(obj: Record<string, unknown>): FormatName | null {
  if ('summaries' in obj || ('info' in obj && 'choice' in obj)) return 'openai';
  if ('completions' in obj || 'ranking' in obj) return 'comparison';
  if ('chosen' in obj || 'rejected' in obj) return 'trl';
  if ('label' in obj && ('completion' in obj || 'prompt' in obj)) return 'trl-unpaired';
  if ('score' in obj && 'text' in obj) return 'scored';
  return null;
}

const isTabular = (path: string) => /\.(txt|tsv)(\.gz)?$/i.test(path);

const NOT_DETECTED = 'format not detected';

/**
 * Reads a JSONL file of one format, detecting it from the first readable record unless given.
 * Detection failure throws an error naming the file, the first record's keys and the formats.
 */
function readRecords<T>(
  path: string,
  format: FormatName | undefined,
  parsers: Partial<Record<FormatName, (o: Record<string, unknown>) => T>>,
  accepted: readonly FormatName[],
) {
  let fmt = format;
  // NOTE: only the first readable record decides; once it fails, every later line fails too.
  let firstKeys: string[] | null = null;
  const res = readJsonl(path, (obj) => {
    if (!fmt) {
      const d = firstKeys ? null : detectFormat(obj);
      if (!d || !parsers[d]) {
        firstKeys ??= Object.keys(obj);
        throw new Error(NOT_DETECTED);
      }
      fmt = d;
    }
    return parsers[fmt]!(obj);
  });
  if (!fmt) {
    const list = accepted.map((f) => `  ${f}: ${FORMAT_HELP[f]}`).join('\n');
    const line = res.issues.find((i) => i.message === NOT_DETECTED)?.line;
    const what = firstKeys
      ? `line ${line}'s keys (${(firstKeys as string[]).join(', ') || 'none'}) match no format`
      : res.lines === 0
        ? 'the file has no records'
        : `no line is a JSON object (line ${res.issues[0]?.line}: ${res.issues[0]?.message})`;
    throw new Error(
      `${path}: cannot tell the format: ${what}. Accepted formats:\n${list}\nGive --format NAME if the file is ` +
        `one of them.`,
    );
  }
  return { ...res, format: fmt as FormatName };
}

/** Line numbers of the records readJsonl returned: the non-empty lines that were not issues. */
function recordLines(path: string, issues: RecordIssue[]): number[] {
  const bad = new Set(issues.map((i) => i.line));
  const out: number[] = [];
  readTextFile(path)
    .split('\n')
    .forEach((l, i) => {
      if (l.trim() && !bad.has(i + 1)) out.push(i + 1);
    });
  return out;
}

/** Reads scored items (JSONL) or VADER ratings (.txt/.tsv), detected unless given. */
export function readScoredItems(
  path: string,
  format?: 'scored' | 'vader',
): { items: ScoredItem[]; issues: RecordIssue[]; lines: number; format: 'scored' | 'vader' } {
  if (format === 'vader' || (!format && isTabular(path))) return { ...readVader(path), format: 'vader' };
  const r = readRecords(path, format, { scored: parseScoredItem }, ['scored', 'vader']);
  return { items: r.records, issues: r.issues, lines: r.lines, format: 'scored' };
}

/** The pairing defaults of a scored source. */
export function pairDefaults(format: 'scored' | 'vader'): PairOptions {
  return format === 'vader' ? VADER_DEFAULTS : SCORED_DEFAULTS;
}

/**
 * Reads comparisons from any supported format (.gz too). Scored and VADER items are paired with
 * their source's defaults (scored.ts, vader.ts), overridden by `pairing`.
 */
export function readComparisons(
  path: string,
  opts: { format?: FormatName; pairing?: Partial<PairOptions> } = {},
): ReadComparisonsResult {
  const file = basename(path);
  if (opts.format === 'vader' || opts.format === 'scored' || (!opts.format && isTabular(path))) {
    const r = readScoredItems(path, opts.format as 'scored' | 'vader' | undefined);
    const { comparisons, stats } = pairScored(r.items, {
      ...pairDefaults(r.format),
      source: `${r.format}:${file}`,
      ...opts.pairing,
    });
    return { comparisons, issues: r.issues, lines: r.lines, format: r.format, pairStats: stats };
  }
  type Parsed = Comparison | UnpairedItem | ScoredItem;
  const r = readRecords<Parsed>(
    path,
    opts.format,
    {
      comparison: parseComparison,
      trl: parseTRL,
      openai: parseOpenAI,
      'trl-unpaired': parseUnpaired,
      scored: parseScoredItem,
    },
    FORMAT_NAMES,
  );
  if (r.format === 'scored') {
    const { comparisons, stats } = pairScored(r.records as ScoredItem[], {
      ...SCORED_DEFAULTS,
      source: `scored:${file}`,
      ...opts.pairing,
    });
    return { comparisons, issues: r.issues, lines: r.lines, format: 'scored', pairStats: stats };
  }
  let comparisons: Comparison[];
  let issues = r.issues;
  if (r.format === 'trl-unpaired') {
    // NOTE: readJsonl does not return the lines of good records; unpaired ones are reported by
    // line, so the file is read a second time to recover them.
    const lines = recordLines(path, r.issues);
    const paired = pairUnpaired(
      (r.records as UnpairedItem[]).map((item, k) => ({ item, line: lines[k] })),
      path,
    );
    comparisons = paired.comparisons;
    issues = [...issues, ...paired.issues].sort((a, b) => a.line - b.line);
  } else {
    comparisons = r.records as Comparison[];
  }
  // Converted records say where they came from; our own records keep theirs.
  if (r.format !== 'comparison') for (const c of comparisons) c.source = `${r.format}:${file}`;
  return { comparisons, issues, lines: r.lines, format: r.format };
}
