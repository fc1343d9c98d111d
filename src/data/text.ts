// Training text for language modeling: plain documents and prompt/completion pairs.

import { FieldError, ReadResult, readJsonl, readTextFile, stringField } from './jsonl.js';

/** A supervised example: the loss is taken on the completion only. */
export interface PromptCompletion {
  prompt: string;
  completion: string;
}

export type SFTData =
  | { kind: 'text'; documents: string[]; issues: ReadResult<unknown>['issues']; lines: number }
  | { kind: 'prompt-completion'; examples: PromptCompletion[]; issues: ReadResult<unknown>['issues']; lines: number };

/**
 * Reads SFT/pretraining data: a .txt file (one document), or JSONL whose records are all
 * {"text"} (pretraining) or all {"prompt", "completion"} (fine-tuning). The kind is detected from
 * the first readable record; a record of the other kind is an error with its line.
 */
export function readSFTData(path: string): SFTData {
  if (/\.txt(\.gz)?$/.test(path)) {
    const text = readTextFile(path);
    if (!text.trim()) throw new Error(`${path}: the file is empty`);
    return { kind: 'text', documents: [text], issues: [], lines: 1 };
  }
  if (!/\.jsonl(\.gz)?$/.test(path)) {
    throw new Error(
      `${path}: unknown file type; give a .txt file (plain text) or a .jsonl file with {"text"} or ` +
        `{"prompt","completion"} records`,
    );
  }
  let kind: 'text' | 'prompt-completion' | null = null;
  const res = readJsonl(path, (obj) => {
    const isPair = 'prompt' in obj || 'completion' in obj;
    if (!kind) {
      if (!isPair && !('text' in obj)) {
        throw new FieldError(
          'text',
          `missing; each record needs "text" (pretraining) or "prompt" and "completion" (fine-tuning)`,
        );
      }
      kind = isPair ? 'prompt-completion' : 'text';
    }
    if (kind === 'text') {
      if (isPair)
        throw new FieldError(
          'text',
          'this file started with {"text"} records; do not mix them with {"prompt","completion"} records',
        );
      return stringField(obj, 'text');
    }
    return { prompt: stringField(obj, 'prompt'), completion: stringField(obj, 'completion') };
  });
  if (res.records.length === 0) {
    const first = res.issues[0];
    throw new Error(
      `${path}: no usable ` +
        `records` +
        `${
          first
            ? ` (line ${first.line}: ${first.field ? `"${first.field}" ` : ''}${first.message})`
            : ' (the file is empty)'
        }`,
    );
  }
  if (kind === 'text') return { kind, documents: res.records as string[], issues: res.issues, lines: res.lines };
  return {
    kind: 'prompt-completion',
    examples: res.records as PromptCompletion[],
    issues: res.issues,
    lines: res.lines,
  };
}
