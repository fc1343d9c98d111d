import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PackedTokens } from './packed-tokens.js';

describe('PackedTokens', () => {
  it('gives back each sequence as pushed, through growth', () => {
    const p = new PackedTokens(1000, 4);
    const seqs = Array.from({ length: 100 }, (_, i) => Array.from({ length: i % 7 }, (_, j) => (i * 31 + j) % 1000));
    seqs.forEach((s, i) => assert.equal(p.push(s), i));
    assert.equal(p.size, 100);
    assert.equal(
      p.tokens,
      seqs.reduce((a, s) => a + s.length, 0),
    );
    p.trim();
    seqs.forEach((s, i) => {
      assert.deepEqual(Array.from(p.get(i)), s);
      assert.equal(p.length(i), s.length);
    });
  });

  it('stores 2 bytes a token when the vocabulary fits 16 bits, 4 otherwise', () => {
    const small = new PackedTokens(65536),
      big = new PackedTokens(100000);
    small.push([65535, 0]);
    big.push([99999, 0]);
    assert.ok(small.get(0) instanceof Uint16Array);
    assert.ok(big.get(0) instanceof Int32Array);
    assert.deepEqual(Array.from(small.get(0)), [65535, 0]);
    assert.deepEqual(Array.from(big.get(0)), [99999, 0]);
    // 10,000 sequences of 50 tokens: 1 MB of ids and 40 kB of starts once trimmed.
    const p = new PackedTokens(1024);
    for (let i = 0; i < 10000; i++) p.push(new Array(50).fill(i % 1024));
    assert.ok(p.trim().bytes <= 10000 * 50 * 2 + 4 * 10001, `${p.bytes} bytes`);
  });

  it('refuses ids outside the vocabulary instead of wrapping them, and unknown indices', () => {
    const p = new PackedTokens(300);
    assert.throws(() => p.push([1, 300]), /token id 300 at position 1 is outside the vocabulary \[0, 300\)/);
    assert.throws(() => p.push([-100]), /token id -100/);
    assert.throws(() => p.get(0), /no sequence 0 \(there are 0\)/);
  });
});
