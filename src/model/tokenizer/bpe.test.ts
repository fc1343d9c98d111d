import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyMerges, heapPop, heapPush, MergeTable } from './bpe.js';

// Ids: a=0 b=1 c=2; merges: (a,b)->3 "ab", (3,c)->4 "abc", (0,0)->5 "aa", (5,5)->6 "aaaa".
function table(): MergeTable {
  const t = new MergeTable();
  t.add(0, 1, 3);
  t.add(3, 2, 4);
  t.add(0, 0, 5);
  t.add(5, 5, 6);
  return t;
}

test('merges are applied by rank, all occurrences left to right', () => {
  const t = table();
  assert.deepEqual(applyMerges([0, 1, 2], t), [4]);
  assert.deepEqual(applyMerges([0, 0, 0], t), [5, 0]); // overlapping: leftmost pair wins
  assert.deepEqual(applyMerges([0, 0, 0, 0], t), [6]);
  assert.deepEqual(applyMerges([0, 0, 1], t), [0, 3]); // (a,b) outranks (a,a)
  assert.deepEqual(applyMerges([2, 2], t), [2, 2]);
  assert.deepEqual(applyMerges([1], t), [1]);
});

test('the heap path gives the same result as the scan path', () => {
  const t = table();
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let trial = 0; trial < 500; trial++) {
    const word = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 3));
    const input = word.slice();
    assert.deepEqual(applyMerges(word, t, 0), applyMerges(word, t, Infinity), JSON.stringify(word));
    assert.deepEqual(word, input, 'input must not be modified');
  }
});

test('a repeated pair keeps its first rank', () => {
  const t = new MergeTable();
  t.add(0, 1, 2);
  t.add(0, 1, 3);
  assert.equal(t.size, 1);
  assert.deepEqual(applyMerges([0, 1], t), [2]);
});

test('number heap pops in ascending order', () => {
  const h: number[] = [];
  const xs = [5, 3, 9, 1, 1, 8, 2 ** 40, 0, 7];
  for (const x of xs) heapPush(h, x);
  const out: number[] = [];
  while (h.length) out.push(heapPop(h));
  assert.deepEqual(
    out,
    [...xs].sort((a, b) => a - b),
  );
});
