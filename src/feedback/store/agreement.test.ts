import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  answerAgreement,
  goldAnswer,
  judgmentAnswer,
  judgmentRanks,
  pairAgreement,
  rankingRanks,
} from './agreement.js';
import { shownOrder } from './sqlite.js';

test('judgmentRanks maps display positions back to completions', () => {
  assert.deepEqual(
    [...judgmentRanks({ choice: 2, shown: [1, 0] })!],
    [
      [1, 0],
      [0, 1],
    ],
  );
  assert.deepEqual(
    [...judgmentRanks({ choice: 7, shown: [1, 0] })!],
    [
      [0, 0],
      [1, 1],
    ],
  );
  assert.deepEqual(
    [...judgmentRanks({ choice: 5, shown: [1, 0] })!],
    [
      [1, 0],
      [0, 0],
    ],
  );
  assert.deepEqual(
    [...judgmentRanks({ ranking: [1, 2, 0], shown: [2, 0, 1] })!],
    [
      [0, 0],
      [1, 1],
      [2, 2],
    ],
  );
  assert.equal(judgmentRanks({ shown: [0, 1] }), null);
});

test('pairAgreement counts completion pairs ordered alike', () => {
  assert.deepEqual(pairAgreement(rankingRanks([0, 1, 2]), rankingRanks([0, 2, 1])), { agree: 2, total: 3 });
  assert.deepEqual(pairAgreement(rankingRanks([0, 1, 2]), rankingRanks([2, 0])), { agree: 0, total: 1 });
  assert.deepEqual(
    pairAgreement(judgmentRanks({ choice: 5, shown: [0, 1] })!, judgmentRanks({ choice: 5, shown: [1, 0] })!),
    { agree: 1, total: 1 },
  );
});

test('shownOrder is a fixed permutation that varies across tasks', () => {
  assert.deepEqual(shownOrder(3, 4, 5), shownOrder(3, 4, 5));
  assert.deepEqual([...shownOrder(3, 4, 5)].sort(), [0, 1, 2, 3, 4]);
  const firsts = new Set(Array.from({ length: 40 }, (_, t) => shownOrder(t, 1, 2)[0]));
  assert.deepEqual([...firsts].sort(), [0, 1], 'both sides come first for some task');
});

test('answers of single-output tasks: thumbs agree when the same, ratings when at most one point apart', () => {
  const up = judgmentAnswer({ thumb: 'up', shown: [0] })!;
  assert.equal(answerAgreement(up, goldAnswer({ kind: 'thumbs', gold: 'up' })!), 1);
  assert.equal(answerAgreement(up, judgmentAnswer({ thumb: 'down', shown: [0] })!), 0);
  const five = judgmentAnswer({ rating: 5, shown: [0] })!;
  assert.deepEqual(
    [4, 6, 3, 7].map((g) => answerAgreement(five, goldAnswer({ kind: 'likert', gold: g })!)),
    [1, 1, 0, 0],
  );
  assert.equal(answerAgreement(up, five), null, 'different kinds share nothing to compare');
  assert.equal(goldAnswer({ kind: 'pair' }), null);
  assert.equal(judgmentAnswer({ shown: [0] }), null, 'a skip without an answer');
});
