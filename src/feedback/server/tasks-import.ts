// Turning files into labeling tasks, shared by the HTTP import and `rlhf feedback import`:
//   tasks:  one task a line, {"prompt", "completions": [a, b, …], "gold"?: [best, …], "meta"?}, or a
//           single-output task {"kind": "thumbs" | "likert", "prompt", "completion", "gold"?, "meta"?};
//   sample: `rlhf sample --json` output, {"prompt", "completion", "sample"?, "finish_reason"?, …} a line;
//           the distinct completions of each prompt are grouped into tasks of `completionsPerTask`, or
//           with the kind thumbs or likert each one is a task of its own.
// The `kind` option is the kind of every line that does not say (default pair).
// Every line is checked; if any is bad, nothing is imported and the errors name the line and field.

import { FieldError } from '../../data/field-error.js';
import { describe, isObject } from '../../data/formats/fields.js';
import { parseTask, requireCleanText, requireKind } from '../store/validate.js';
import type { ProjectSettings, SingleKind, TaskInput, TaskKind } from '../store/types.js';
import type { ImportSource } from './import-body.js';

export type ImportFormat = 'tasks' | 'sample';

export interface ImportIssue {
  line: number;
  field?: string;
  message: string;
}

export interface ParsedImport {
  tasks: TaskInput[];
  format: ImportFormat;
  /** How many tasks of each kind. */
  kinds: Partial<Record<TaskKind, number>>;
  /** Non-empty lines read. */
  lines: number;
  /** What was left out though no line was bad: duplicate or empty samples, prompts with one sample. */
  notes: string[];
}

/** Thrown when any line is bad: all of them (up to 100), in order. */
export class ImportError extends Error {
  constructor(
    readonly issues: ImportIssue[],
    readonly total: number,
  ) {
    const shown = issues.slice(0, 5).map(formatImportIssue).join('; ');
    super(
      `${total} bad line${total === 1 ? '' : 's'}, nothing imported: ` +
        `${shown}${total > 5 ? `; … and ${total - 5} more` : ''}`,
    );
  }
}

export function formatImportIssue(i: ImportIssue): string {
  return `line ${i.line}: ${i.field ? `field "${i.field}": ` : ''}${i.message}`;
}

const SAMPLE_KEYS = ['prompt', 'completion', 'sample', 'finish_reason', 'reward', 'rewards', 'best_of'];

interface SampleLine {
  line: number;
  prompt: string;
  completion: string;
}

function parseSampleLine(obj: Record<string, unknown>): { prompt: string; completion: string } {
  if ('completions' in obj && !('completion' in obj)) {
    throw new FieldError(
      'completions',
      'this line is a task ({"prompt", "completions": [...]}) but the file is read as `rlhf sample` output; one ' +
        'file holds one format',
    );
  }
  for (const k of Object.keys(obj)) {
    if (!SAMPLE_KEYS.includes(k)) throw new FieldError(k, `unknown field; a sample line has ${SAMPLE_KEYS.join(', ')}`);
  }
  if (typeof obj.prompt !== 'string')
    throw new FieldError(
      'prompt',
      obj.prompt === undefined ? 'missing; expected a string' : `must be a string, got ${describe(obj.prompt)}`,
    );
  if (typeof obj.completion !== 'string') {
    throw new FieldError(
      'completion',
      obj.completion === undefined
        ? 'missing; expected a string (as `rlhf sample --json` writes)'
        : `must be a string, got ${describe(obj.completion)}`,
    );
  }
  return { prompt: requireCleanText(obj.prompt, 'prompt'), completion: requireCleanText(obj.completion, 'completion') };
}

function parseTaskLine(obj: Record<string, unknown>, kind: TaskKind | undefined): TaskInput {
  if (kind && !('kind' in obj)) obj = { kind, ...obj };
  if ('completion' in obj && !('completions' in obj) && (obj.kind ?? 'pair') === 'pair') {
    throw new FieldError(
      'completion',
      'this line is `rlhf sample` output but the file is read as tasks ({"prompt", "completions": [...]}); one ' +
        'file holds one format. A task of one completion is a thumbs or Likert task: give it "kind": "thumbs" ' +
        'or "likert" (or import with that kind)',
    );
  }
  try {
    return parseTask(obj, 'task');
  } catch (e) {
    if (e instanceof FieldError) throw new FieldError(e.field.replace(/^task\.?/, ''), e.message);
    throw e;
  }
}

const storable = (s: string) => {
  try {
    requireCleanText(s, 'completion');
    return true;
  } catch {
    return false;
  }
};

/**
 * The format a first record announces. A line with a task's own keys is a task; a {"prompt", "completion"}
 * line is a sample, unless the kind is thumbs or likert and it has none of `rlhf sample`'s own fields:
 * then it is a single-output task (which may have gold and meta on later lines).
 */
function detect(obj: Record<string, unknown>, kind: TaskKind | undefined): ImportFormat | null {
  if (['completions', 'kind', 'gold', 'meta'].some((k) => k in obj)) return 'tasks';
  if ('completion' in obj) {
    const fromSample = SAMPLE_KEYS.some((k) => k !== 'prompt' && k !== 'completion' && k in obj);
    return kind && kind !== 'pair' && !fromSample ? 'tasks' : 'sample';
  }
  return null;
}

/**
 * Groups texts per prompt (in order of first appearance) into tasks of up to k distinct non-empty
 * completions; a prompt left with one completion gives no task (said in `notes`).
 */
export function groupCompletions(
  items: { prompt: string; completion: string; line?: number }[],
  k: number,
  notes: string[],
): TaskInput[] {
  const byPrompt = new Map<string, { completions: string[]; lines: number[]; empty: number; dup: number }>();
  let unstorable = 0;
  for (const it of items) {
    let g = byPrompt.get(it.prompt);
    if (!g) byPrompt.set(it.prompt, (g = { completions: [], lines: [], empty: 0, dup: 0 }));
    if (!storable(it.completion)) unstorable++;
    else if (it.completion.trim() === '') g.empty++;
    else if (g.completions.includes(it.completion)) g.dup++;
    else {
      g.completions.push(it.completion);
      if (it.line !== undefined) g.lines.push(it.line);
    }
  }
  const tasks: TaskInput[] = [];
  let empty = 0,
    dup = 0,
    lonely = 0;
  for (const [prompt, g] of byPrompt) {
    empty += g.empty;
    dup += g.dup;
    for (let i = 0; i < g.completions.length; i += k) {
      const completions = g.completions.slice(i, i + k);
      if (completions.length < 2) {
        lonely++;
        continue;
      }
      const meta: Record<string, unknown> = { source: 'sample' };
      if (g.lines.length) meta.lines = g.lines.slice(i, i + k);
      tasks.push({ prompt, completions, meta });
    }
  }
  if (empty) notes.push(`${empty} empty completion${empty === 1 ? '' : 's'} left out`);
  if (unstorable)
    notes.push(
      `${unstorable} completion${unstorable === 1 ? '' : 's'} with a NUL character or invalid Unicode left out`,
    );
  if (dup) notes.push(`${dup} duplicate completion${dup === 1 ? '' : 's'} of the same prompt left out`);
  if (lonely)
    notes.push(
      `${lonely} completion${lonely === 1 ? '' : 's'} without a partner of the same prompt left out (sample ` +
        `with -n 2 or more)`,
    );
  return tasks;
}

/**
 * One single-output task per distinct (prompt, completion), in order; empty, unstorable and repeated
 * completions are left out (said in `notes`).
 */
export function singleTasks(
  items: { prompt: string; completion: string; line?: number }[],
  kind: SingleKind,
  notes: string[],
): TaskInput[] {
  const seen = new Map<string, Set<string>>();
  const tasks: TaskInput[] = [];
  let empty = 0,
    unstorable = 0,
    dup = 0;
  for (const it of items) {
    if (!seen.has(it.prompt)) seen.set(it.prompt, new Set());
    const mine = seen.get(it.prompt)!;
    if (!storable(it.completion)) unstorable++;
    else if (it.completion.trim() === '') empty++;
    else if (mine.has(it.completion)) dup++;
    else {
      mine.add(it.completion);
      const meta: Record<string, unknown> = { source: 'sample' };
      if (it.line !== undefined) meta.line = it.line;
      tasks.push({ kind, prompt: it.prompt, completions: [it.completion], meta });
    }
  }
  if (empty) notes.push(`${empty} empty completion${empty === 1 ? '' : 's'} left out`);
  if (unstorable)
    notes.push(
      `${unstorable} completion${unstorable === 1 ? '' : 's'} with a NUL character or invalid Unicode left out`,
    );
  if (dup) notes.push(`${dup} duplicate completion${dup === 1 ? '' : 's'} of the same prompt left out`);
  return tasks;
}

/** Tasks per kind (pair when a task does not say). */
export function countKinds(tasks: TaskInput[]): Partial<Record<TaskKind, number>> {
  const n: Partial<Record<TaskKind, number>> = {};
  for (const t of tasks) n[t.kind ?? 'pair'] = (n[t.kind ?? 'pair'] ?? 0) + 1;
  return n;
}

/** Parses a JSONL text into tasks; throws ImportError naming every bad line. */
export function parseImport(text: string, opts: ImportOptions = {}): ParsedImport {
  const r = importReader(opts);
  text.split('\n').forEach((raw, i) => r.line(raw, i + 1));
  return r.finish();
}

/**
 * parseImport for the server: the file comes a chunk of lines at a time (import-body.ts), and the
 * event loop runs between chunks, so a 30 MB import does not hold up labelers' requests.
 */
export async function parseImportChunked(source: ImportSource, opts: ImportOptions = {}): Promise<ParsedImport> {
  const r = importReader(opts);
  let line = 1;
  for (const chunk of source.chunks()) {
    for (const raw of chunk.split('\n')) r.line(raw, line++);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return r.finish();
}

export interface ImportOptions {
  format?: ImportFormat | 'auto';
  completionsPerTask?: number;
  /** The kind of task of lines that do not say, and of samples (default pair). */
  kind?: TaskKind;
}

/** Reads an import one line at a time (`line`), then forms the tasks (`finish`). */
function importReader(opts: ImportOptions) {
  const k = opts.completionsPerTask ?? 2;
  if (!Number.isInteger(k) || k < 2 || k > 16)
    throw new FieldError('completionsPerTask', `must be an integer in [2, 16], got ${describe(k)}`);
  const kind = opts.kind === undefined ? undefined : requireKind(opts.kind, 'kind');
  let format: ImportFormat | null = opts.format && opts.format !== 'auto' ? opts.format : null;
  const issues: ImportIssue[] = [];
  let bad = 0;
  const issue = (i: ImportIssue): false => {
    bad++;
    if (issues.length < 100) issues.push(i);
    return false;
  };
  const tasks: TaskInput[] = [];
  const samples: SampleLine[] = [];
  let lines = 0;
  /** Reads one line; false when it is bad (said in the issues). */
  const line = (raw: string, line: number): boolean => {
    const s = raw.trim();
    if (!s) return true;
    lines++;
    let obj: unknown;
    try {
      obj = JSON.parse(s);
    } catch (e) {
      return issue({ line, message: `not valid JSON (${(e as Error).message}); each line must be one JSON object` });
    }
    if (!isObject(obj)) return issue({ line, message: `expected a JSON object, got ${describe(obj)}` });
    if (!format) {
      format = detect(obj, kind);
      if (!format) {
        return issue({
          line,
          message:
            `cannot tell the format from keys ${Object.keys(obj).join(', ') || '(none)'}: a task is ` +
            `{"prompt", "completions": [...]} or {"kind": "thumbs" | "likert", "prompt", "completion"}, a sample ` +
            `line {"prompt", "completion"}`,
        });
      }
    }
    try {
      if (format === 'tasks') tasks.push(parseTaskLine(obj, kind));
      else samples.push({ line, ...parseSampleLine(obj) });
      return true;
    } catch (e) {
      if (e instanceof FieldError) return issue({ line, field: e.field, message: e.message });
      throw e;
    }
  };
  const finish = (): ParsedImport => {
    if (bad) throw new ImportError(issues, bad);
    if (lines === 0 || !format)
      throw new ImportError([{ line: 1, message: 'the file has no records; give one JSON object a line' }], 1);
    const notes: string[] = [];
    const out =
      format === 'tasks'
        ? tasks
        : kind && kind !== 'pair'
          ? singleTasks(samples, kind, notes)
          : groupCompletions(samples, k, notes);
    if (out.length === 0)
      throw new ImportError([{ line: 1, message: `no task could be formed (${notes.join('; ')})` }], 1);
    return { tasks: out, format, kinds: countKinds(out), lines, notes };
  };
  return { line, finish };
}

/** What an admin should know about the gold tasks of an import into a project with these settings. */
export function goldNote(tasks: TaskInput[], settings: ProjectSettings): string | null {
  const n = tasks.filter((t) => t.gold !== undefined).length;
  if (n === 0 || settings.goldEvery > 0) return null;
  return (
    `${n} gold task${n === 1 ? '' : 's'}: this project mixes in no gold (goldEvery 0), so each labeler gets ` +
    `${n === 1 ? 'it' : 'them'} only after every other task; create the project with goldEvery N to mix gold in ` +
    `every N tasks`
  );
}
