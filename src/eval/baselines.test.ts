import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RNG } from '../engine/rng.js';
import { BaselinePair, bagOfWordsBaseline, lengthBaseline } from './baselines.js';

describe('reward baselines', () => {
  it('length: the longer completion wins, ties half', () => {
    const mk = (a: string, b: string): BaselinePair => ({ chosen: [], rejected: [], chosenText: a, rejectedText: b });
    assert.equal(lengthBaseline([mk('aaa', 'a'), mk('a', 'aaa'), mk('ab', 'cd')]), 0.5);
  });
  it('bag of words learns a word-level preference and stays at chance without one', () => {
    const rng = new RNG(1);
    const make = (n: number, signal: boolean): BaselinePair[] =>
      Array.from({ length: n }, () => {
        const a = Array.from({ length: 5 }, () => 1 + rng.int(9)),
          b = Array.from({ length: 5 }, () => 1 + rng.int(9));
        if (signal) a[0] = 0; // token 0 marks the preferred completion
        return { chosen: a, rejected: b, chosenText: '', rejectedText: '' };
      });
    assert.ok(bagOfWordsBaseline(make(300, true), make(100, true), 10) > 0.95);
    const chance = bagOfWordsBaseline(make(300, false), make(400, false), 10);
    assert.ok(chance > 0.4 && chance < 0.6, `${chance}`);
  });
});
