// Input checks for the store. Each throws FieldError naming the field, what was received and what is
// expected; the HTTP layer passes request bodies through them unchanged.

import { FieldError } from '../../data/field-error.js';
import { describe, isAbsent, isObject, optionalString, requireString, requireText } from '../../data/formats/fields.js';
import { BIDI_CONTROL } from '../web/bidi.js';
import {
  type JudgmentInput,
  type JudgmentStatus,
  type ProjectSettings,
  type Role,
  TASK_KINDS,
  type TaskInput,
  type TaskKind,
  type Thumb,
} from './types.js';

export const MAX_COMPLETIONS = 16;
export const MAX_NAME = 100;
/** How deep a task's meta may nest objects and arrays (meta itself is level 1). */
export const MAX_META_DEPTH = 32;
const SETTINGS_KEYS = ['overlap', 'scale', 'axes', 'goldEvery'];
const TASK_KEYS = ['kind', 'prompt', 'completions', 'completion', 'gold', 'meta'];
const STATUSES: JudgmentStatus[] = ['done', 'skipped', 'flagged'];

export const DEFAULT_SETTINGS: ProjectSettings = { overlap: 1, scale: 9, axes: [], goldEvery: 0 };

export function requireInt(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) throw new FieldError(field, `missing; expected an integer in [${min}, ${max}]`);
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new FieldError(field, `must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new FieldError(field, `must be in [${min}, ${max}], got ${v}`);
  return v;
}

export function requireId(v: unknown, field: string): number {
  return requireInt(v, field, 1);
}

/** A name: trimmed, 1–100 characters, no control characters, no bidirectional controls. */
export function requireName(v: unknown, field: string): string {
  const s = requireCleanText(requireString(v, field), field).trim();
  if (s.length === 0) throw new FieldError(field, 'is empty; give a name');
  if (s.length > MAX_NAME) throw new FieldError(field, `is ${s.length} characters long; at most ${MAX_NAME}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new FieldError(field, 'contains control characters');
  const bidi = BIDI_CONTROL.exec(s);
  if (bidi)
    throw new FieldError(
      field,
      `contains a bidirectional control character ` +
        `(U+${bidi[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}) ` +
        `at offset ${bidi.index}, which can make a name display as another; remove it`,
    );
  return s;
}

// A UTF-16 surrogate that is not half of a pair (a lone surrogate: a JSON "\ud800" escape).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The one rule for every text the store keeps (prompts, completions, feedback, names, meta strings
 * and keys): no NUL and no lone surrogate. NOTE: PostgreSQL text cannot hold U+0000, and a lone
 * surrogate is not Unicode: written as UTF-8 it would come back as replacement characters.
 */
export function requireCleanText(s: string, field: string): string {
  const nul = s.indexOf('\u0000');
  if (nul >= 0) throw new FieldError(field, `contains a NUL character (U+0000) at offset ${nul}; remove it`);
  const m = LONE_SURROGATE.exec(s);
  if (!m) return s;
  const code = m[0].charCodeAt(0).toString(16).toUpperCase();
  throw new FieldError(
    field,
    `contains a lone surrogate (U+${code}) at offset ${m.index}: not valid Unicode, so it cannot be stored as ` +
      'text; fix the encoding of the source (e.g. a string cut in the middle of an emoji)',
  );
}

export function requireRole(v: unknown, field = 'role'): Role {
  if (v !== 'admin' && v !== 'labeler') throw new FieldError(field, `must be "admin" or "labeler", got ${describe(v)}`);
  return v;
}

export function parseSettings(v: unknown, field = 'settings'): ProjectSettings {
  if (isAbsent(v)) return { ...DEFAULT_SETTINGS, axes: [] };
  if (!isObject(v)) throw new FieldError(field, `must be an object, got ${describe(v)}`);
  for (const k of Object.keys(v)) {
    if (!SETTINGS_KEYS.includes(k))
      throw new FieldError(`${field}.${k}`, `unknown setting; a project has ${SETTINGS_KEYS.join(', ')}`);
  }
  const s: ProjectSettings = { ...DEFAULT_SETTINGS, axes: [] };
  if (v.overlap !== undefined) s.overlap = requireInt(v.overlap, `${field}.overlap`, 1, 100);
  if (v.goldEvery !== undefined) s.goldEvery = requireInt(v.goldEvery, `${field}.goldEvery`, 0, 1000);
  if (v.scale !== undefined && v.scale !== 9)
    throw new FieldError(`${field}.scale`, `only the 9-point scale is supported, got ${describe(v.scale)}`);
  if (v.axes !== undefined) {
    if (!Array.isArray(v.axes))
      throw new FieldError(`${field}.axes`, `must be an array of axis names, got ${describe(v.axes)}`);
    if (v.axes.length > 20) throw new FieldError(`${field}.axes`, `at most 20 axes, got ${v.axes.length}`);
    s.axes = v.axes.map((a, i) => requireName(a, `${field}.axes[${i}]`));
    const dup = s.axes.find((a, i) => s.axes.indexOf(a) !== i);
    if (dup !== undefined) throw new FieldError(`${field}.axes`, `axis "${dup}" appears twice`);
  }
  return s;
}

/** Distinct indices in [0, K), at least 2 (all K when `full`). */
export function requireIndices(v: unknown, field: string, K: number, full: boolean): number[] {
  const want = full ? `all ${K} indices in [0, ${K - 1}], each once` : `≥ 2 distinct indices in [0, ${K - 1}]`;
  if (!Array.isArray(v))
    throw new FieldError(
      field,
      `${v === undefined ? 'missing' : `must be an array, got ${describe(v)}`}; expected ${want}`,
    );
  if (v.length < 2 || (full && v.length !== K) || v.length > K)
    throw new FieldError(field, `has ${v.length} entries; expected ${want}`);
  const seen = new Set<number>();
  v.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= K)
      throw new FieldError(`${field}[${i}]`, `must be an integer in [0, ${K - 1}], got ${describe(x)}`);
    if (seen.has(x)) throw new FieldError(`${field}[${i}]`, `index ${x} appears twice`);
    seen.add(x);
  });
  return v as number[];
}

export function requireKind(v: unknown, field: string): TaskKind {
  if (!TASK_KINDS.includes(v as TaskKind))
    throw new FieldError(
      field,
      `must be one of ${TASK_KINDS.join(', ')} (pair: compare completions; thumbs: up or down on one; likert: ` +
        `rate one 1–7), got ${describe(v)}`,
    );
  return v as TaskKind;
}

/**
 * A task: `{kind?: "pair", prompt, completions: [2–16 texts], gold?: [indices, best first], meta?}`, or
 * a single-output task `{kind: "thumbs" | "likert", prompt, completion, gold?: "up" | "down" | 1–7, meta?}`
 * (its one text may also come as `completions: [text]`). The result has `kind` only when not pair.
 */
export function parseTask(v: unknown, field: string): TaskInput {
  if (!isObject(v))
    throw new FieldError(
      field,
      `must be an object {kind?, prompt, completions (or completion), gold?, meta?}, got ${describe(v)}`,
    );
  for (const k of Object.keys(v)) {
    if (!TASK_KEYS.includes(k))
      throw new FieldError(
        `${field}.${k}`,
        'unknown field; a task has kind, prompt, completions (pair) or completion (thumbs, likert), gold, meta ' +
          '(put anything else under "meta")',
      );
  }
  const kind = isAbsent(v.kind) ? 'pair' : requireKind(v.kind, `${field}.kind`);
  const prompt = requireCleanText(requireString(v.prompt, `${field}.prompt`), `${field}.prompt`);
  const t: TaskInput =
    kind === 'pair'
      ? { prompt, completions: pairCompletions(v, field) }
      : { kind, prompt, completions: [singleCompletion(v, field, kind)] };
  if (!isAbsent(v.gold)) {
    const f = `${field}.gold`;
    if (kind === 'pair') t.gold = requireIndices(v.gold, f, t.completions.length, false);
    else if (kind === 'thumbs') t.gold = requireThumb(v.gold, f);
    else t.gold = requireInt(v.gold, f, 1, 7);
  }
  if (!isAbsent(v.meta)) t.meta = parseMeta(v.meta, `${field}.meta`);
  return t;
}

function pairCompletions(v: Record<string, unknown>, field: string): string[] {
  if (v.completions === undefined && typeof v.completion === 'string')
    throw new FieldError(
      `${field}.completion`,
      'one completion makes a single-output task: give "kind": "thumbs" or "likert" (or import with that kind); ' +
        'a pair task has "completions": [2 or more texts]',
    );
  if (v.completion !== undefined)
    throw new FieldError(`${field}.completion`, 'is for thumbs and likert tasks; a pair task has "completions"');
  if (!Array.isArray(v.completions))
    throw new FieldError(
      `${field}.completions`,
      `must be an array of 2–${MAX_COMPLETIONS} texts, got ${describe(v.completions)}`,
    );
  if (v.completions.length < 2 || v.completions.length > MAX_COMPLETIONS) {
    throw new FieldError(`${field}.completions`, `needs 2–${MAX_COMPLETIONS} completions, got ${v.completions.length}`);
  }
  const completions = v.completions.map((c, i) => requireCompletion(c, `${field}.completions[${i}]`));
  completions.forEach((c, i) => {
    const j = completions.indexOf(c);
    if (j !== i)
      throw new FieldError(
        `${field}.completions[${i}]`,
        `is identical to completions[${j}]; a preference between identical texts carries no signal`,
      );
  });
  return completions;
}

/** The one text of a thumbs or likert task: `completion`, or `completions` holding exactly one. */
function singleCompletion(v: Record<string, unknown>, field: string, kind: TaskKind): string {
  if (v.completion !== undefined && v.completions !== undefined)
    throw new FieldError(`${field}.completions`, `a ${kind} task has one text: give "completion" only`);
  if (v.completions !== undefined) {
    if (!Array.isArray(v.completions) || v.completions.length !== 1)
      throw new FieldError(
        `${field}.completions`,
        `a ${kind} task judges one completion: give "completion": "…" (got ` +
          `${Array.isArray(v.completions) ? `${v.completions.length} completions` : describe(v.completions)}); ` +
          'to compare several, leave out "kind" (a pair task)',
      );
    return requireCompletion(v.completions[0], `${field}.completions[0]`);
  }
  if (v.completion === undefined)
    throw new FieldError(`${field}.completion`, `missing; a ${kind} task has "completion": the text to judge`);
  return requireCompletion(v.completion, `${field}.completion`);
}

export function requireThumb(v: unknown, field: string): Thumb {
  if (v !== 'up' && v !== 'down') throw new FieldError(field, `must be "up" or "down", got ${describe(v)}`);
  return v;
}

/**
 * A task's meta: an object of any JSON, nested at most MAX_META_DEPTH levels. NOTE: walked with a
 * stack of its own, not recursion: a meta nested 20,000 deep must be a 400, not a stack overflow
 * (as JSON.stringify would give when the store saves it).
 */
function parseMeta(v: unknown, field: string): Record<string, unknown> {
  if (!isObject(v)) throw new FieldError(field, `must be an object when given, got ${describe(v)}`);
  const todo: { value: unknown; depth: number; path: string }[] = [{ value: v, depth: 1, path: field }];
  while (todo.length) {
    const { value, depth, path } = todo.pop()!;
    if (typeof value === 'string') requireCleanText(value, path);
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_META_DEPTH)
      throw new FieldError(
        field,
        `nests objects and arrays more than ${MAX_META_DEPTH} levels deep (at ` +
          `${path.length > 80 ? `${path.slice(0, 80)}…` : path}); ` +
          'flatten it, or store the deep part as a JSON string',
      );
    for (const [k, x] of Object.entries(value)) {
      const at = Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`;
      requireCleanText(k, at);
      todo.push({ value: x, depth: depth + 1, path: at });
    }
  }
  return v;
}

/** A completion: text to compare, so not empty and not only whitespace (an import of samples leaves those out). */
export function requireCompletion(v: unknown, field: string): string {
  const s = requireCleanText(requireText(v, field), field);
  if (s.trim() === '')
    throw new FieldError(
      field,
      'is only whitespace; a completion must have text to be compared (drop it or fill it in)',
    );
  return s;
}

/** The context-free checks of a submission; the store checks it against its task and project. */
export function parseJudgmentShape(v: unknown): JudgmentInput {
  if (!isObject(v)) throw new FieldError('judgment', `must be an object, got ${describe(v)}`);
  const j: JudgmentInput = {
    taskId: requireId(v.taskId, 'taskId'),
    labelerId: requireId(v.labelerId, 'labelerId'),
    submissionId: requireString(v.submissionId, 'submissionId'),
    shown: v.shown as number[],
  };
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(j.submissionId)) {
    throw new FieldError(
      'submissionId',
      `must be 1–100 characters of A–Z a–z 0–9 _ . : - (e.g. a UUID), got ${describe(j.submissionId)}`,
    );
  }
  if (!isAbsent(v.status)) {
    if (!STATUSES.includes(v.status as JudgmentStatus))
      throw new FieldError('status', `must be one of ${STATUSES.join(', ')}, got ${describe(v.status)}`);
    j.status = v.status as JudgmentStatus;
  }
  if (!isAbsent(v.choice)) j.choice = requireInt(v.choice, 'choice', 1, 9);
  if (!isAbsent(v.ranking)) j.ranking = v.ranking as number[];
  if (!isAbsent(v.thumb)) j.thumb = requireThumb(v.thumb, 'thumb');
  if (!isAbsent(v.rating)) j.rating = requireInt(v.rating, 'rating', 1, 7);
  if (!isAbsent(v.axes)) {
    if (!isObject(v.axes))
      throw new FieldError('axes', `must be an object {axis: rating 1–7}, got ${describe(v.axes)}`);
    j.axes = {};
    for (const [k, r] of Object.entries(v.axes)) j.axes[k] = requireInt(r, `axes.${k}`, 1, 7);
  }
  const fb = optionalString(v.feedback, 'feedback');
  if (fb !== undefined) {
    if (fb.length > 10_000) throw new FieldError('feedback', `is ${fb.length} characters long; at most 10000`);
    requireCleanText(fb, 'feedback');
    if (fb.trim()) j.feedback = fb;
  }
  return j;
}

/** The answer fields each kind of task takes; the others are refused (see checkJudgment). */
const ANSWERS: Record<TaskKind, string> = {
  pair: '"choice" (2 completions, 1–9) or "ranking" (more)',
  thumbs: '"thumb": "up" or "down"',
  likert: '"rating": 1–7',
};

/** Checks a submission against its task (kind and K) and the project's axes. */
export function checkJudgment(j: JudgmentInput, kind: TaskKind, K: number, axes: string[]): void {
  const status = j.status ?? 'done';
  const refuse = (f: 'choice' | 'ranking' | 'thumb' | 'rating') => {
    if (j[f] !== undefined) throw new FieldError(f, `is not for a ${kind} task; it takes ${ANSWERS[kind]}`);
  };
  if (kind === 'pair') {
    refuse('thumb');
    refuse('rating');
    j.shown = requireIndices(j.shown, 'shown', K, true);
    checkPairAnswer(j, K, status);
  } else {
    if (!Array.isArray(j.shown) || j.shown.length !== 1 || j.shown[0] !== 0)
      throw new FieldError('shown', `must be [0] for a ${kind} task (one completion), got ${describe(j.shown)}`);
    for (const f of ['choice', 'ranking', kind === 'thumbs' ? 'rating' : 'thumb'] as const) refuse(f);
    const field = kind === 'thumbs' ? 'thumb' : 'rating';
    if (status === 'done' && j[field] === undefined)
      throw new FieldError(field, `missing; a done ${kind} task needs ${ANSWERS[kind]}`);
  }
  for (const k of Object.keys(j.axes ?? {})) {
    if (!axes.includes(k))
      throw new FieldError(
        `axes.${k}`,
        `unknown axis; this project rates ${axes.length ? axes.join(', ') : 'no axes'}`,
      );
  }
}

function checkPairAnswer(j: JudgmentInput, K: number, status: JudgmentStatus): void {
  if (K === 2) {
    if (j.ranking !== undefined)
      throw new FieldError('ranking', 'is for tasks of more than 2 completions; a pair takes "choice" (1–9)');
    if (status === 'done' && j.choice === undefined)
      throw new FieldError('choice', 'missing; a done pair needs a choice from 1 (A much better) to 9 (B much better)');
  } else {
    if (j.choice !== undefined)
      throw new FieldError(
        'choice',
        `is for pairs; this task has ${K} completions: give "ranking" (positions in shown, best first)`,
      );
    if (j.ranking !== undefined) j.ranking = requireIndices(j.ranking, 'ranking', K, true);
    if (status === 'done' && j.ranking === undefined)
      throw new FieldError(
        'ranking',
        `missing; a done task of ${K} completions needs a ranking of all ${K} shown positions, best first`,
      );
  }
}
