// Unlabeled candidate pairs, for choosing what people should label next: JSONL records of
// {"prompt", "completions": [...]} (every pair among the completions), or `rlhf sample` output
// {"prompt", "completion", ...} (every pair among the samples of the same prompt).

import { FieldError, ReadResult, readJsonl, stringField } from './jsonl.js';

export interface CandidatePair {
  prompt: string;
  a: string;
  b: string;
}

export function readCandidates(path: string): ReadResult<CandidatePair> {
  const res = readJsonl(path, (obj) => {
    const prompt = stringField(obj, 'prompt');
    if (Array.isArray(obj.completions)) {
      const cs = obj.completions;
      cs.forEach((c, i) => {
        if (typeof c !== 'string') throw new FieldError(`completions[${i}]`, `must be a string, got ${typeof c}`);
      });
      if (cs.length < 2)
        throw new FieldError('completions', `needs at least 2 completions to form a pair, got ${cs.length}`);
      return { prompt, completions: cs as string[] };
    }
    if ('completion' in obj) return { prompt, completions: [stringField(obj, 'completion')] };
    throw new FieldError(
      'completions',
      'missing; give "completions": [a, b, …] or one "completion" per line (as `rlhf sample --json` writes)',
    );
  });
  // Group single completions by prompt (sample output), keeping the file's order.
  const byPrompt = new Map<string, string[]>();
  for (const r of res.records) byPrompt.set(r.prompt, [...(byPrompt.get(r.prompt) ?? []), ...r.completions]);
  const pairs: CandidatePair[] = [];
  for (const [prompt, cs] of byPrompt) {
    const uniq = [...new Set(cs)];
    for (let i = 0; i < uniq.length; i++)
      for (let j = i + 1; j < uniq.length; j++) pairs.push({ prompt, a: uniq[i], b: uniq[j] });
  }
  return { records: pairs, issues: res.issues, lines: res.lines };
}
