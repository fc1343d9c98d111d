// OpenAI's summarize-from-feedback comparisons (Stiennon et al., 2020; the `comparisons/*.json`
// JSONL files of github.com/openai/summarize-from-feedback):
//   {"info": {"id", "post", "title", "subreddit"} or {"id", "article", "site"?, "title"?},
//    "summaries": [{"text", "policy", "note"}, {…}], "choice": 0|1, "worker", "batch", "split",
//    "extra": {"confidence": 1..9}}
//
// → prompt      "SUBREDDIT: r/{subreddit}\nTITLE: {title}\nPOST: {post}\n\nTL;DR:" (TL;DR),
//               "ARTICLE: {article}\n\nTL;DR:" (CNN/DM: info.article present and not null)
//   completions the two summary texts in file order (they start with a space, as sampled)
//   ranking     [choice, 1 − choice]
//   confidence  (c − 1) / 8 for extra.confidence c on the 1..9 scale: 1 (least sure) → 0,
//               9 (most sure) → 1; absent or null → none
//   labeler     worker;  feedback  the non-empty notes as "summary {i}: {note}" lines
//               (i indexes completions); meta {id, split, batch, policies}

import { Comparison } from '../comparison.js';
import { FieldError } from '../field-error.js';
import {
  compact,
  describe,
  isAbsent,
  optionalNumber,
  optionalString,
  requireObject,
  requireString,
  requireText,
} from './fields.js';

export function parseOpenAI(obj: Record<string, unknown>): Comparison {
  const info = requireObject(obj.info, 'info');
  const prompt = summarizePrompt(info);
  if (!Array.isArray(obj.summaries))
    throw new FieldError(
      'summaries',
      `must be a list of 2 {"text", "policy", "note"} objects, got ${describe(obj.summaries)}`,
    );
  if (obj.summaries.length !== 2)
    throw new FieldError(
      'summaries',
      `must hold exactly 2 summaries (one choice between two), got ${obj.summaries.length}`,
    );
  const summaries = obj.summaries.map((s, i) => requireObject(s, `summaries[${i}]`));
  const completions = summaries.map((s, i) => requireText(s.text, `summaries[${i}].text`));
  if (completions[0] === completions[1])
    throw new FieldError(
      'summaries[1].text',
      'is identical to summaries[0].text; a preference between identical texts carries no signal',
    );
  const choice = obj.choice;
  if (choice !== 0 && choice !== 1)
    throw new FieldError('choice', `must be 0 or 1 (the index of the preferred summary), got ${describe(choice)}`);
  const extra = isAbsent(obj.extra) ? {} : requireObject(obj.extra, 'extra');
  const c9 = optionalNumber(extra.confidence, 'extra.confidence', 1, 9);
  const notes = summaries.map((s, i) => optionalString(s.note, `summaries[${i}].note`));
  const feedback = notes
    .map((n, i) => (n?.trim() ? `summary ${i}: ${n.trim()}` : ''))
    .filter(Boolean)
    .join('\n');
  const policies = summaries.map((s, i) => optionalString(s.policy, `summaries[${i}].policy`) ?? null);
  return compact({
    prompt,
    completions,
    ranking: [choice, 1 - choice],
    confidence: c9 === undefined ? undefined : (c9 - 1) / 8,
    feedback: feedback || undefined,
    labeler: optionalString(obj.worker, 'worker'),
    source: 'openai',
    meta: compact({
      id: optionalString(info.id, 'info.id'),
      split: optionalString(obj.split, 'split'),
      batch: optionalString(obj.batch, 'batch'),
      policies,
    }),
  });
}

function summarizePrompt(info: Record<string, unknown>): string {
  if (!isAbsent(info.article)) return `ARTICLE: ${requireString(info.article, 'info.article')}\n\nTL;DR:`;
  if (info.post === undefined)
    throw new FieldError(
      'info.post',
      'missing; a TL;DR comparison has info.post, info.title and info.subreddit (or info.article for CNN/DM)',
    );
  const post = requireString(info.post, 'info.post');
  const title = requireString(info.title, 'info.title');
  const subreddit = requireString(info.subreddit, 'info.subreddit');
  return `SUBREDDIT: r/${subreddit}\nTITLE: ${title}\nPOST: ${post}\n\nTL;DR:`;
}
