// TRL's preference format (https://huggingface.co/docs/trl/dataset_formats), read and written.
//
// Read, one pair a line:
//   explicit prompt:  {"prompt": str, "chosen": str, "rejected": str, "margin"?: number ≥ 0}
//   implicit prompt:  {"chosen": str, "rejected": str}: the prompt is their shared beginning
//                     (splitImplicit: HH dialogues up to the last "\n\nAssistant:", else the
//                     longest common prefix cut back to a word boundary)
//   conversational:   the same with lists of {"role", "content"} messages, kept as Comparison.chat (for
//                     the model's chat template) and rendered as text by chat.ts's plain layout;
//                     implicit: chosen/rejected lists sharing leading messages, split as TRL's
//                     extract_prompt does.
// Written: {"prompt", "chosen", "rejected", "margin"?}, one line per pair of a ranking; as messages when
// the comparison has them.

import { Comparison, ComparisonChat, toPairs } from '../comparison.js';
import { FieldError } from '../field-error.js';
import { compact, describe, optionalNumber, requireDifferent, requireText } from './fields.js';
import { Message, parseMessages, renderCompletion, renderPrompt, splitImplicit, splitMessages } from './chat.js';

export interface TRLRecord {
  prompt: string | Message[];
  chosen: string | Message[];
  rejected: string | Message[];
  margin?: number;
}

interface TRLParts {
  prompt: string;
  chosen: string;
  rejected: string;
  chat?: ComparisonChat;
}

export function parseTRL(obj: Record<string, unknown>): Comparison {
  const margin = optionalNumber(obj.margin, 'margin', 0);
  const { prompt, chosen, rejected, chat } = trlTexts(obj);
  return compact({ prompt, completions: [chosen, rejected], ranking: [0, 1], margin, source: 'trl', chat });
}

function trlTexts(obj: Record<string, unknown>): TRLParts {
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
    let s: { prompt: Message[]; chosen: Message[]; rejected: Message[] };
    if (obj.prompt !== undefined) {
      if (!Array.isArray(obj.prompt))
        throw new FieldError('prompt', `must be a list of messages like "chosen", got ${describe(obj.prompt)}`);
      s = { prompt: parseMessages(obj.prompt, 'prompt'), chosen: chosenMsgs, rejected: rejectedMsgs };
    } else s = splitMessages(chosenMsgs, rejectedMsgs);
    const parts = {
      prompt: renderPrompt(s.prompt),
      chosen: renderCompletion(s.chosen, 'chosen'),
      rejected: renderCompletion(s.rejected, 'rejected'),
      chat: { prompt: s.prompt, completions: [s.chosen, s.rejected] },
    };
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
  return toPairs(c).map((p) =>
    compact({ ...(p.chat ?? { prompt: p.prompt, chosen: p.chosen, rejected: p.rejected }), margin }),
  );
}
