// Option parsers that reject bad values with the option's name and what is accepted.

import { InvalidArgumentError } from 'commander';

export function intArg(min = -Infinity, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`expected an integer, got "${v}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer${rangeText(min, max)}, got ${n}`);
    return n;
  };
}

export function floatArg(min = -Infinity, max = Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${v}"`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a number${rangeText(min, max)}, got ${n}`);
    return n;
  };
}

export function choiceArg<T extends string>(choices: readonly T[]) {
  return (v: string): T => {
    if (!choices.includes(v as T)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${v}"`);
    return v as T;
  };
}

/** Repeatable option: collects values into an array. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function rangeText(min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return ` in [${min}, ${max}]`;
  if (min > -Infinity) return ` ≥ ${min}`;
  if (max < Infinity) return ` ≤ ${max}`;
  return '';
}
