// The train/eval split of a task's text, by unit (a paragraph or a joke): a unit that gives an eval
// prompt is kept out of the pretraining corpus and of the training examples altogether, so the
// eval prompts and references are text no model has seen. Deterministic by seed.

import { hashString } from '../data/split.js';
import { RNG } from '../engine/rng.js';
import type { TextUnit } from './sources.js';

/** A per-unit random stream: a unit's examples depend on the seed and the unit, not on order. */
export function unitRng(seed: number, unitId: string, salt: string): RNG {
  return new RNG((hashString(`${salt}\u0000${unitId}`) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0);
}

/** The quick variant's share of the units, drawn by seed. */
export function quickSubset(units: readonly TextUnit[], seed: number, fraction: number): TextUnit[] {
  const rng = new RNG((seed ^ 0x51c0ffee) >>> 0);
  const idx = rng.shuffle(units.map((_, i) => i)).slice(0, Math.round(units.length * fraction));
  idx.sort((a, b) => a - b); // keep the book's order in the corpus
  return idx.map((i) => units[i]);
}

export interface UnitSplit<T> {
  /** Units in their original order. */
  trainUnits: TextUnit[];
  evalUnits: TextUnit[];
  /** The eval units' examples, in the order their units were drawn. */
  evalExamples: T[];
}

/**
 * Draws units in a seeded order into eval until their examples reach `evalTarget`; the rest (and
 * every unit without examples) are train units.
 */
export function splitUnits<T>(
  units: readonly TextUnit[],
  seed: number,
  evalTarget: number,
  examplesOf: (u: TextUnit) => T[],
): UnitSplit<T> {
  const rng = new RNG((seed ^ 0x5eed5917) >>> 0);
  const order = rng.shuffle(units.map((_, i) => i));
  const isEval = new Uint8Array(units.length);
  const evalExamples: T[] = [];
  for (const i of order) {
    if (evalExamples.length >= evalTarget) break;
    const ex = examplesOf(units[i]);
    if (ex.length === 0) continue;
    isEval[i] = 1;
    evalExamples.push(...ex);
  }
  return {
    trainUnits: units.filter((_, i) => !isEval[i]),
    evalUnits: units.filter((_, i) => isEval[i]),
    evalExamples,
  };
}
