// `rlhf data …`: convert preference data between formats, turn scored items into pairs, and
// summarize a file. Every unusable record is printed as file:line: field "x": message (the first
// 10, then a count) and counted in the summary line on stderr.

import { Command } from 'commander';
import { basename } from 'node:path';
import { Comparison, comparisonStats } from '../data/comparison.js';
import { formatIssue, RecordIssue, writeJsonl } from '../data/jsonl.js';
import { toTRL } from '../data/formats/trl.js';
import {
  FORMAT_HELP,
  FORMAT_NAMES,
  FormatName,
  pairDefaults,
  readComparisons,
  readScoredItems,
} from '../data/read-comparisons.js';
import { PairOptions, PairStats, pairScored } from '../data/scored.js';
import { choiceArg, floatArg, intArg } from './args.js';

const OUTPUTS = ['comparison', 'trl'] as const;

function printIssues(issues: RecordIssue[]): void {
  for (const i of issues.slice(0, 10)) process.stderr.write(`${formatIssue(i)}\n`);
  if (issues.length > 10) process.stderr.write(`… and ${issues.length - 10} more\n`);
}

/** "3 skipped (2 field "chosen", 1 not valid JSON)": the reasons, most frequent first. */
function skippedText(issues: RecordIssue[]): string {
  if (!issues.length) return '0 skipped';
  const by = new Map<string, number>();
  for (const i of issues) {
    const why = i.field
      ? `field "${i.field}"`
      : i.message.startsWith('not valid JSON')
        ? 'not valid JSON'
        : i.message.slice(0, 40);
    by.set(why, (by.get(why) ?? 0) + 1);
  }
  const reasons = [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, n]) => `${n} ${k}`);
  return `${issues.length} skipped (${reasons.join(', ')}${by.size > 4 ? ', …' : ''})`;
}

function checkOut(path: string): void {
  if (path.endsWith('.gz'))
    throw new Error(
      `--out ${path}: writing .gz is not supported; write plain .jsonl (readers accept .gz, so gzip it ` +
        `afterwards if you like)`,
    );
}

async function writeComparisons(
  path: string,
  cs: Comparison[],
  to: (typeof OUTPUTS)[number],
  marginFromConfidence: boolean,
): Promise<number> {
  const records = to === 'trl' ? cs.flatMap((c) => toTRL(c, { marginFromConfidence })) : cs;
  await writeJsonl(path, records);
  return records.length;
}

function pairText(s: PairStats, o: PairOptions): string {
  const d = s.dropped;
  const drops = [
    d.sameText && `${d.sameText} identical text`,
    d.scoreGap && (o.minScoreGap > 0 ? `${d.scoreGap} score gap < ${o.minScoreGap}` : `${d.scoreGap} tied scores`),
    d.lengthRatio && `${d.lengthRatio} length ratio > ${o.maxLengthRatio}`,
    d.timeGap && `${d.timeGap} time gap > ${o.maxTimeGap}s`,
    d.groupCap && `${d.groupCap} over ${o.maxPairsPerGroup} per group`,
  ].filter(Boolean);
  const where = [s.groups && `${s.groups} groups`, s.buckets && `${s.buckets} buckets of ${o.bucketSize}`]
    .filter(Boolean)
    .join(' and ');
  return (
    `${s.items} items in ${where || 'no groups'}: ${s.candidates} candidate pairs, kept ${s.kept} (${s.hard} ` +
    `hard), dropped ${drops.join(', ') || 'none'}`
  );
}

export function registerData(program: Command): void {
  const data = program
    .command('data')
    .description('preference data: convert between formats, pair scored items, summarize');
  const formats = FORMAT_NAMES.map((f) => `${f} = ${FORMAT_HELP[f]}`).join('; ');

  data
    .command('convert')
    .description('read comparisons in any supported format and write our comparison JSONL or TRL preference JSONL')
    .requiredOption('--in <file>', 'input file (.jsonl, .jsonl.gz, or VADER .txt)')
    .option(
      '--format <name>',
      `input format (default: detected from the first record): ${formats}`,
      choiceArg(FORMAT_NAMES),
    )
    .requiredOption('--out <file>', 'output JSONL')
    .option(
      '--to <format>',
      `output format: comparison (one record per ranking) or trl ({"prompt","chosen","rejected","margin"?} per pair)`,
      choiceArg(OUTPUTS),
      'comparison',
    )
    .option(
      '--margin-from-confidence',
      'with --to trl: a record without a margin gets its confidence (0..1) as margin',
      false,
    )
    .action(async (o) => {
      checkOut(o.out);
      const r = readComparisons(o.in, { format: o.format as FormatName | undefined });
      printIssues(r.issues);
      if (r.comparisons.length === 0)
        throw new Error(
          `${o.in}: no usable comparisons (format ${r.format}, ${skippedText(r.issues)}); nothing written`,
        );
      const n = await writeComparisons(o.out, r.comparisons, o.to, o.marginFromConfidence);
      const pairing = r.pairStats ? `; ${pairText(r.pairStats, pairDefaults(r.format as 'scored' | 'vader'))}` : '';
      process.stderr.write(
        `convert: ${r.lines} records (${r.format}) → ${r.comparisons.length} comparisons, ` +
          `${skippedText(r.issues)}${pairing}; wrote ${n} ${o.to} records to ${o.out}\n`,
      );
    });

  data
    .command('pairs')
    .description(
      'turn scored items (ratings, votes) into comparisons, with confounder controls (same group, score gap, ' +
        'similar length and time)',
    )
    .requiredOption(
      '--in <file>',
      'JSONL {"group"?, "prompt"?, "text", "score", "time"?} or VADER id<TAB>rating<TAB>text (.txt)',
    )
    .option(
      '--format <name>',
      'scored or vader (default: vader for .txt/.tsv, else scored)',
      choiceArg(['scored', 'vader'] as const),
    )
    .requiredOption('--out <file>', 'output JSONL')
    .option(
      '--min-score-gap <x>',
      'keep pairs whose scores differ by at least this (default: 0.5 vader, 0 = any difference for scored)',
      floatArg(0),
    )
    .option('--max-length-ratio <x>', 'keep pairs with longer/shorter ≤ x characters (default 2)', floatArg(1))
    .option(
      '--max-time-gap <s>',
      'keep pairs posted within s seconds of each other, when both have times (default 86400)',
      floatArg(0),
    )
    .option(
      '--bucket-size <n>',
      'items with no group or prompt are shuffled and paired within buckets of n (default 10)',
      intArg(2),
    )
    .option(
      '--max-pairs-per-group <n>',
      'at most n pairs per group or bucket, sampled with the seed (default: all)',
      intArg(1),
    )
    .option('--hard-length-ratio <x>', 'hard split: length ratio ≤ x (default 1.15)', floatArg(1))
    .option('--hard-time-gap <s>', 'hard split: time gap ≤ s seconds where times exist (default 3600)', floatArg(0))
    .option(
      '--confidence-scale <x>',
      "confidence = tanh(score gap / x) (default: 2 for vader, the scores' standard deviation for scored)",
      floatArg(Number.MIN_VALUE),
    )
    .option(
      '--prompt <text>',
      'prompt of items that have none (default: "" for scored; vader: "Write a short text with a positive ' +
        'sentiment:\\n")',
    )
    .option('--seed <n>', 'seed of the bucket shuffle and per-group sampling', intArg(0))
    .option('--to <format>', 'output format: comparison or trl', choiceArg(OUTPUTS), 'comparison')
    .option('--margin-from-confidence', "with --to trl: write each pair's confidence as its margin", false)
    .action(async (o) => {
      checkOut(o.out);
      const r = readScoredItems(o.in, o.format);
      printIssues(r.issues);
      if (r.items.length < 2)
        throw new Error(
          `${o.in}: ${r.items.length} usable scored items (${skippedText(r.issues)}); pairs need at least 2`,
        );
      const opts: PairOptions = {
        ...pairDefaults(r.format),
        source: `${r.format}:${basename(o.in)}`,
        ...Object.fromEntries(
          Object.entries({
            minScoreGap: o.minScoreGap,
            maxLengthRatio: o.maxLengthRatio,
            maxTimeGap: o.maxTimeGap,
            bucketSize: o.bucketSize,
            maxPairsPerGroup: o.maxPairsPerGroup,
            hardLengthRatio: o.hardLengthRatio,
            hardTimeGap: o.hardTimeGap,
            confidenceScale: o.confidenceScale,
            prompt: o.prompt,
            seed: o.seed,
          }).filter(([, v]) => v !== undefined),
        ),
      };
      const { comparisons, stats } = pairScored(r.items, opts);
      if (comparisons.length === 0)
        throw new Error(
          `${o.in}: ${pairText(stats, opts)}; no pair passed the rules, nothing written (loosen --min-score-gap ` +
            `or --max-length-ratio)`,
        );
      const n = await writeComparisons(o.out, comparisons, o.to, o.marginFromConfidence);
      process.stderr.write(
        `pairs: ${pairText(stats, opts)}; ${r.lines} lines, ${skippedText(r.issues)}; wrote ${n} ${o.to} ` +
          `records to ${o.out}\n`,
      );
    });

  data
    .command('stats')
    .description('summarize a comparison file: records, prompts, completions, pairs, hard pairs, lengths')
    .requiredOption('--in <file>', 'input file in any supported format')
    .option('--format <name>', 'input format (default: detected)', choiceArg(FORMAT_NAMES))
    .option('--json', 'print one JSON object', false)
    .action((o) => {
      const r = readComparisons(o.in, { format: o.format as FormatName | undefined });
      printIssues(r.issues);
      const s = comparisonStats(r.comparisons);
      if (o.json) {
        process.stdout.write(
          JSON.stringify({
            file: o.in,
            format: r.format,
            lines: r.lines,
            skipped: r.issues.length,
            ...s,
            pairing: r.pairStats,
          }) + '\n',
        );
        return;
      }
      const f = (x: number) => x.toFixed(1);
      process.stdout.write(
        [
          `${o.in}: ${r.format}, ${r.lines} records read, ${skippedText(r.issues)}`,
          `comparisons ${s.records}, prompts ${s.prompts}, mean completions ${f(s.meanCompletions)}`,
          `pairs ${s.pairs}, hard pairs ${s.hardPairs}, with confidence ${s.withConfidence}, with feedback ` +
            `${s.withFeedback}`,
          `mean characters: prompt ${f(s.meanPromptChars)}, chosen ${f(s.meanChosenChars)}, rejected ` +
            `${f(s.meanRejectedChars)}; chosen is the longer in ${(100 * s.chosenLonger).toFixed(1)}% of pairs`,
          ...(r.pairStats ? [`pairing: ${pairText(r.pairStats, pairDefaults(r.format as 'scored' | 'vader'))}`] : []),
        ].join('\n') + '\n',
      );
    });
}
