// TRL's unpaired preference format (KTO): {"prompt", "completion", "label": true|false}, one
// completion a line, text or conversational (chat.ts's template).
//
// Pairing: the records of one prompt are grouped; every (label true, label false) combination
// becomes one Comparison [good, bad], so a prompt with T good and F bad completions gives T·F
// comparisons. A record whose prompt has no completion of the opposite label is reported as
// unpaired (with its line), never dropped silently.

import { Comparison } from '../comparison.js';
import { FieldError, RecordIssue } from '../jsonl.js';
import { describe, requireText } from './fields.js';
import { Message, parseMessages, renderCompletion, renderPrompt } from './chat.js';

export interface UnpairedItem {
  prompt: string;
  completion: string;
  label: boolean;
  /** The messages of a conversational record. */
  chat?: { prompt: Message[]; completion: Message[] };
}

export function parseUnpaired(obj: Record<string, unknown>): UnpairedItem {
  if (typeof obj.label !== 'boolean') {
    throw new FieldError(
      'label',
      `${obj.label === undefined ? 'missing' : `must be true or false, got ${describe(obj.label)}`}; true marks ` +
        `a desirable completion, false an undesirable one`,
    );
  }
  if (obj.prompt === undefined)
    throw new FieldError('prompt', 'missing; an unpaired record has "prompt", "completion" and "label"');
  if (Array.isArray(obj.prompt)) {
    const chat = {
      prompt: parseMessages(obj.prompt, 'prompt'),
      completion: parseMessages(obj.completion, 'completion'),
    };
    return {
      prompt: renderPrompt(chat.prompt),
      completion: renderCompletion(chat.completion, 'completion'),
      label: obj.label,
      chat,
    };
  }
  if (typeof obj.prompt !== 'string')
    throw new FieldError('prompt', `must be a string or a list of messages, got ${describe(obj.prompt)}`);
  return { prompt: obj.prompt, completion: requireText(obj.completion, 'completion'), label: obj.label };
}

/** Pairs good and bad completions of the same prompt; `line` of each item is its line in `file`. */
export function pairUnpaired(
  items: { item: UnpairedItem; line: number }[],
  file: string,
): { comparisons: Comparison[]; issues: RecordIssue[] } {
  const byPrompt = new Map<string, { good: typeof items; bad: typeof items }>();
  for (const x of items) {
    let g = byPrompt.get(x.item.prompt);
    if (!g) byPrompt.set(x.item.prompt, (g = { good: [], bad: [] }));
    (x.item.label ? g.good : g.bad).push(x);
  }
  const comparisons: Comparison[] = [];
  const issues: RecordIssue[] = [];
  for (const [prompt, { good, bad }] of byPrompt) {
    for (const x of good.length && bad.length ? [] : [...good, ...bad]) {
      issues.push({
        file,
        line: x.line,
        field: 'label',
        message:
          `unpaired: no completion of this prompt is labeled ${!x.item.label}, so this one has nothing to be ` +
          `compared with`,
      });
    }
    for (const g of good) {
      for (const b of bad) {
        if (g.item.completion === b.item.completion) {
          issues.push({
            file,
            line: b.line,
            field: 'completion',
            message: `the same completion is labeled true on line ${g.line}; this pair was skipped`,
          });
          continue;
        }
        const c: Comparison = {
          prompt,
          completions: [g.item.completion, b.item.completion],
          ranking: [0, 1],
          source: 'trl-unpaired',
        };
        // Records of one prompt text share its messages: the text is their rendering.
        if (g.item.chat && b.item.chat)
          c.chat = { prompt: g.item.chat.prompt, completions: [g.item.chat.completion, b.item.chat.completion] };
        comparisons.push(c);
      }
    }
  }
  return { comparisons, issues };
}
