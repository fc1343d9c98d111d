// TRL's preference format (https://huggingface.co/docs/trl/dataset_formats), read and written.
//
// Read, one pair a line:
//   explicit prompt:  {"prompt": str, "chosen": str, "rejected": str, "margin"?: number ≥ 0}
//   implicit prompt:  {"chosen": str, "rejected": str}: the prompt is their shared beginning
//                     (splitImplicit: HH dialogues up to the last "\n\nAssistant:", else the
//                     longest common prefix cut back to a word boundary)
//   conversational:   the same with lists of {"role", "content"} messages, rendered as text by
//                     chat.ts's template; implicit: chosen/rejected lists sharing leading messages.
// Written: {"prompt", "chosen", "rejected", "margin"?}, one line per pair of a ranking.

import { Comparison, toPairs } from '../comparison.js';
import { FieldError } from '../field-error.js';
import { compact, describe, optionalNumber, requireDifferent, requireText } from './fields.js';
import { parseMessages, renderCompletion, renderPrompt, splitImplicit, splitMessages } from './chat.js';

export interface TRLRecord {
  prompt: string;
  chosen: string;
  rejected: string;
  margin?: number;
}

export function parseTRL(obj: Record<string, unknown>): Comparison {
  const margin = optionalNumber(obj.margin, 'margin', 0);
  const { prompt, chosen, rejected } = trlTexts(obj);
  return compact({ prompt, completions: [chosen, rejected], ranking: [0, 1], margin, source: 'trl' });
}

function trlTexts(obj: Record<string, unknown>): { prompt: string; chosen: string; rejected: string } {
  for (const f of ['chosen', 'rejected']) {
    if (obj[f] === undefined)
      throw new FieldError(f, `missing; a TRL preference record has "chosen" and "rejected" (and optionally "prompt")`);
  }
  const conversational = Array.isArray(obj.chosen);
  if (Array.isArray(obj.rejected) !== conversational) {
    throw new FieldError(
      'rejected',
      `must be ${conversational ? 'a list of messages like "chosen"' : 'a string like "chosen"'}, got ` +
        `${describe(obj.rejected)}`,
    );
  }
  if (conversational) {
    const chosenMsgs = parseMessages(obj.chosen, 'chosen');
    const rejectedMsgs = parseMessages(obj.rejected, 'rejected');
    let parts: { prompt: string; chosen: string; rejected: string };
    if (obj.prompt !== undefined) {
      if (!Array.isArray(obj.prompt))
        throw new FieldError('prompt', `must be a list of messages like "chosen", got ${describe(obj.prompt)}`);
      parts = {
        prompt: renderPrompt(parseMessages(obj.prompt, 'prompt')),
        chosen: renderCompletion(chosenMsgs, 'chosen'),
        rejected: renderCompletion(rejectedMsgs, 'rejected'),
      };
    } else {
      const s = splitMessages(chosenMsgs, rejectedMsgs);
      parts = {
        prompt: renderPrompt(s.prompt),
        chosen: renderCompletion(s.chosen, 'chosen'),
        rejected: renderCompletion(s.rejected, 'rejected'),
      };
    }
    requireDifferent(parts.rejected, parts.chosen, 'rejected', 'chosen');
    return parts;
  }
  const chosen = requireText(obj.chosen, 'chosen');
  const rejected = requireText(obj.rejected, 'rejected');
  requireDifferent(rejected, chosen, 'rejected', 'chosen');
  if (obj.prompt === undefined) return splitImplicit(chosen, rejected);
  if (typeof obj.prompt !== 'string')
    throw new FieldError('prompt', `must be a string like "chosen", got ${describe(obj.prompt)}`);
  return { prompt: obj.prompt, chosen, rejected };
}

/**
 * A comparison as TRL preference records, one per (better, worse) pair of its ranking.
 * margin: the record's own margin; else, with marginFromConfidence, its confidence (in [0, 1]).
 */
export function toTRL(c: Comparison, opts: { marginFromConfidence?: boolean } = {}): TRLRecord[] {
  const margin = c.margin ?? (opts.marginFromConfidence ? c.confidence : undefined);
  return toPairs(c).map((p) => compact({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, margin }));
}
