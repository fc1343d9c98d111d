import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradCheck } from '../engine/gradcheck.js';
import { Graph } from '../engine/graph.js';
import { Tensor } from '../engine/tensor.js';
import { countValid, meanWeights, tokenMean } from './masked.js';
import { sequenceLogProbs } from './sequence-logprobs.js';
import { assertClose } from '../test-support/assert-close.js';

// B = 2, T = 3: row 0 has two valid tokens, row 1 the last two.
const lp = [-1, -2, -9, -9, -0.5, -1.5];
const mask = [1, 1, 0, 0, 1, 1];

describe('masks', () => {
  it('tokenMean averages the valid entries only', () => {
    // (−1 − 2 − 0.5 − 1.5)/4 = −1.25
    const g = Graph.inference();
    assertClose(tokenMean(g, Tensor.from(lp), mask).item(), -1.25);
    g.dispose();
  });

  it('rejects masks that are not 0/1, have the wrong length, or select nothing', () => {
    assert.throws(() => countValid('op', [1, 0.5], 2), /mask\[1\] is 0.5/);
    assert.throws(() => countValid('op', [1, 0], 3), /mask has 2 entries, expected 3/);
    assert.throws(() => meanWeights('op', [0, 0], 2), /no valid token/);
  });
});

describe('sequenceLogProbs', () => {
  it('sums or averages each row over its valid tokens', () => {
    const g = Graph.inference();
    // sums: −1 − 2 = −3 and −0.5 − 1.5 = −2; means: −3/2 = −1.5 and −2/2 = −1
    assert.deepEqual(Array.from(sequenceLogProbs(g, Tensor.from(lp), mask, 2, 3).data), [-3, -2]);
    assert.deepEqual(Array.from(sequenceLogProbs(g, Tensor.from(lp), mask, 2, 3, { average: true }).data), [-1.5, -1]);
    // a row with no valid token: sum 0, mean 0 (not NaN)
    assert.deepEqual(Array.from(sequenceLogProbs(g, Tensor.from([-1, -2]), [0, 0], 1, 2, { average: true }).data), [0]);
    g.dispose();
  });

  it('passes the mask (divided by the length for the mean) as the gradient', () => {
    const x = Tensor.from(lp, [6], true);
    const g = new Graph();
    g.backward(tokenMean(g, sequenceLogProbs(g, x, mask, 2, 3, { average: true }), [1, 1]));
    // d/dx of ½(mean row 0 + mean row 1): ½·½ on each valid token
    assert.deepEqual(Array.from(x.grad!), [0.25, 0.25, 0, 0, 0.25, 0.25]);
    g.dispose();
  });

  it('gradient checks', () => {
    const x = Tensor.from([-0.3, -1.1, -2.4, -0.7, -0.2, -3.1], [6], true);
    gradCheck((g) => sequenceLogProbs(g, x, mask, 2, 3), [x]);
    gradCheck((g) => sequenceLogProbs(g, x, mask, 2, 3, { average: true }), [x]);
  });

  it('names the shapes on a mismatch', () => {
    const g = Graph.inference();
    assert.throws(() => sequenceLogProbs(g, Tensor.from(lp), mask, 2, 4), /expected B·T = 2·4 = 8/);
    g.dispose();
  });
});
