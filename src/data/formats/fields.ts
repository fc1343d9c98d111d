// Field checks shared by the record converters. Each throws FieldError naming the field (a path
// such as `summaries[1].text`) and saying what was received and what is expected.

import { FieldError } from '../field-error.js';

/** A short description of a JSON value for error messages: its type, and a prefix of it. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 30 ? v.slice(0, 30) + '…' : v)}`;
  if (typeof v === 'object') return `an object with keys ${Object.keys(v as object).join(', ') || '(none)'}`;
  return `${typeof v} ${String(v)}`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Absent and null both mean "not given" (other tools write null for missing optional fields). */
export function isAbsent(v: unknown): boolean {
  return v === undefined || v === null;
}

/** A required string, possibly empty (prompts may be empty). */
export function requireString(v: unknown, field: string): string {
  if (v === undefined) throw new FieldError(field, 'missing; expected a string');
  if (typeof v !== 'string') throw new FieldError(field, `must be a string, got ${describe(v)}`);
  return v;
}

/** A required non-empty string: a completion, a summary, a scored text. */
export function requireText(v: unknown, field: string): string {
  const s = requireString(v, field);
  if (s.length === 0)
    throw new FieldError(field, 'is empty; a completion must have text to be compared (drop the record or fill it in)');
  return s;
}

export function optionalString(v: unknown, field: string): string | undefined {
  if (isAbsent(v)) return undefined;
  if (typeof v !== 'string') throw new FieldError(field, `must be a string when given, got ${describe(v)}`);
  return v;
}

/** An optional finite number in [min, max]. */
export function optionalNumber(v: unknown, field: string, min = -Infinity, max = Infinity): number | undefined {
  if (isAbsent(v)) return undefined;
  return requireNumber(v, field, min, max);
}

export function requireNumber(v: unknown, field: string, min = -Infinity, max = Infinity): number {
  if (v === undefined) throw new FieldError(field, 'missing; expected a number');
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new FieldError(field, `must be a finite number, got ${describe(v)}`);
  if (v < min || v > max) throw new FieldError(field, `must be in [${min}, ${max}], got ${v}`);
  return v;
}

export function requireObject(v: unknown, field: string): Record<string, unknown> {
  if (v === undefined) throw new FieldError(field, 'missing; expected an object');
  if (!isObject(v)) throw new FieldError(field, `must be an object, got ${describe(v)}`);
  return v;
}

/** Throws when two texts that should be compared are the same: such a preference carries no signal. */
export function requireDifferent(a: string, b: string, field: string, other: string): void {
  if (a === b)
    throw new FieldError(
      field,
      `is identical to "${other}"; a preference between identical texts carries no signal (drop the record)`,
    );
}

/** Drops undefined values so records serialize and compare (deepEqual) without empty keys. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
