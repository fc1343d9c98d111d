// Preference datasets for TRL and OpenRLHF, from Comparisons: one row per (better, worse) pair of
// each ranking (a ranking of K gives K(K−1)/2 rows, as InstructGPT trains on them).
//
// Both trainers read the same three columns; what differs is how each is told about them.
//   TRL (RewardTrainer, DPOTrainer; docs/source/dataset_formats.md, "Preference"):
//     explicit prompt {"prompt", "chosen", "rejected"}, strings or lists of {"role", "content"};
//     an optional "margin" column is used by RewardTrainer's loss when present.
//   OpenRLHF (openrlhf.cli.train_rm / train_dpo → datasets/reward_dataset.py preprocess_data):
//     --prompt_key (default None: no prompt), --chosen_key (default "chosen"), --rejected_key
//     (default "rejected"); --apply_chat_template for message lists; the "margin" key is read by
//     the reward trainer with --margin_loss. Without --prompt_key the prompt is dropped, so our
//     rows need `--prompt_key prompt`; trainerFlags() says so.

import { Comparison, toPairs } from '../data/comparison.js';
import { Column, ExportTable, textColumn } from './columns.js';
import { toCompletionMessages, toPromptMessages } from './messages.js';

export const TARGETS = ['trl', 'openrlhf'] as const;
export type Target = (typeof TARGETS)[number];

export interface PreferenceOptions {
  target: Target;
  /** Conversational form: lists of {"role", "content"} messages instead of strings. */
  chat: boolean;
  /** Write a "margin" column: the record's margin, else its confidence, else 0. */
  margin: boolean;
}

export interface PreferenceStats {
  comparisons: number;
  pairs: number;
  /** Where each pair's margin came from (with --margin). */
  marginFrom: { margin: number; confidence: number; zero: number };
  /** Pairs whose record has a margin that was not exported (without --margin). */
  marginDropped: number;
  /** With --chat: texts that were not HH-style and became one message each. */
  plainPrompts: number;
  plainCompletions: number;
}

export function preferenceTable(
  cs: Comparison[],
  opts: PreferenceOptions,
): { table: ExportTable; stats: PreferenceStats } {
  const columns: Column[] = [
    textColumn('prompt', opts.chat),
    textColumn('chosen', opts.chat),
    textColumn('rejected', opts.chat),
  ];
  if (opts.margin) columns.push({ name: 'margin', type: 'number' });
  const stats: PreferenceStats = {
    comparisons: cs.length,
    pairs: 0,
    marginFrom: { margin: 0, confidence: 0, zero: 0 },
    marginDropped: 0,
    plainPrompts: 0,
    plainCompletions: 0,
  };
  const rows: ExportTable['rows'] = [];
  // Completions repeat across the pairs of a ranking: convert each text once.
  const completionCache = new Map<string, ReturnType<typeof toCompletionMessages>>();
  const completion = (text: string) => {
    let c = completionCache.get(text);
    if (!c) {
      c = toCompletionMessages(text);
      if (!c.exact) stats.plainCompletions++;
      completionCache.set(text, c);
    }
    return c.messages;
  };
  for (const c of cs) {
    let prompt: string | ReturnType<typeof toPromptMessages>['messages'] = c.prompt;
    if (opts.chat) {
      const p = toPromptMessages(c.prompt);
      if (!p.exact) stats.plainPrompts++;
      prompt = p.messages;
    }
    for (const pair of toPairs(c)) {
      stats.pairs++;
      const values: ExportTable['rows'][number]['values'] = {
        prompt,
        chosen: opts.chat ? completion(pair.chosen) : pair.chosen,
        rejected: opts.chat ? completion(pair.rejected) : pair.rejected,
      };
      if (opts.margin) {
        // Confidence in [0, 1] as the margin, as `rlhf data convert --margin-from-confidence` does.
        const from = c.margin !== undefined ? 'margin' : c.confidence !== undefined ? 'confidence' : 'zero';
        stats.marginFrom[from]++;
        values.margin = c.margin ?? c.confidence ?? 0;
      } else if (c.margin !== undefined) {
        stats.marginDropped++;
      }
      rows.push({ key: c.prompt, values });
    }
  }
  return { table: { columns, rows }, stats };
}

/** The trainer flags that point at our columns (printed by the CLI, used in docs/gpu-handoff.md). */
export function preferenceFlags(opts: PreferenceOptions): string[] {
  if (opts.target === 'trl') return [];
  const flags = ['--prompt_key prompt', '--chosen_key chosen', '--rejected_key rejected'];
  if (opts.chat) flags.push('--apply_chat_template');
  if (opts.margin) flags.push('--margin_loss  (openrlhf.cli.train_rm only)');
  return flags;
}
