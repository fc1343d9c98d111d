// The resume cache of remote generation: a JSONL file with one line per finished completion, keyed
// by a hash of the sampling settings, a hash of the prompt and the sample's index among all samples
// of that prompt. Lines are appended as answers arrive, so an interrupted run keeps everything it
// was sent, and the next run asks only for what is missing.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { Completion } from '../train/generator.js';

export function shortHash(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

interface CacheLine {
  /** Hash of the sampling settings (model, weights, max tokens, temperature, top-p/k, stop, seed, logprobs). */
  o: string;
  /** Hash of the prompt. */
  p: string;
  /** Index of the sample among all samples of this prompt in the run. */
  i: number;
  text: string;
  finish_reason: string;
  tokens?: number;
  logprobs?: number[];
}

export class GenerationCache {
  private readonly entries = new Map<string, Completion>();
  /** Lines that could not be read (a write cut short by a crash), skipped. */
  readonly skipped: number = 0;

  constructor(readonly file: string) {
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    let skipped = 0;
    text.split('\n').forEach((line) => {
      if (!line.trim()) return;
      try {
        const l = JSON.parse(line) as CacheLine;
        if (
          typeof l.o !== 'string' ||
          typeof l.p !== 'string' ||
          !Number.isInteger(l.i) ||
          typeof l.text !== 'string' ||
          typeof l.finish_reason !== 'string'
        )
          throw new Error('fields');
        this.entries.set(`${l.o}:${l.p}:${l.i}`, {
          text: l.text,
          finishReason: l.finish_reason,
          ...(l.tokens !== undefined ? { tokens: l.tokens } : {}),
          ...(l.logprobs ? { logprobs: l.logprobs } : {}),
        });
      } catch {
        skipped++;
      }
    });
    this.skipped = skipped;
    // NOTE: a crash mid-write leaves a last line without its newline; the next append must not
    // continue that line.
    if (text.length > 0 && !text.endsWith('\n')) appendFileSync(file, '\n');
  }

  get size(): number {
    return this.entries.size;
  }

  get(options: string, promptHash: string, index: number): Completion | undefined {
    return this.entries.get(`${options}:${promptHash}:${index}`);
  }

  /** Records completions and appends them to the file in one write. */
  add(items: { options: string; promptHash: string; index: number; completion: Completion }[]): void {
    if (items.length === 0) return;
    const lines = items.map(({ options, promptHash, index, completion: c }) => {
      this.entries.set(`${options}:${promptHash}:${index}`, c);
      const l: CacheLine = { o: options, p: promptHash, i: index, text: c.text, finish_reason: c.finishReason };
      if (c.tokens !== undefined) l.tokens = c.tokens;
      if (c.logprobs) l.logprobs = c.logprobs;
      return JSON.stringify(l) + '\n';
    });
    mkdirSync(dirname(this.file), { recursive: true });
    appendFileSync(this.file, lines.join(''));
  }
}
