// RoPE frequencies against hand-computed values: the default 1/θ^(2i/d), linear scaling, and each branch
// of Llama 3.1's scaling; the tables and their growth.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertAllClose } from '../test-support/assert-close.js';
import type { ModelConfig } from './config.js';
import { ropeTables } from '../engine/ops/index.js';
import { Rope, ropeInverseFrequencies } from './rope.js';

const cfg: ModelConfig = {
  family: 'llama',
  vocabSize: 8,
  nPositions: 1000,
  nEmbd: 8,
  nHead: 1,
  nLayer: 1,
  layerNormEps: 1e-6,
  eosTokenId: 0,
};

describe('RoPE', () => {
  it('default: 1 / θ^(2i/d); linear: divided by the factor', () => {
    assertAllClose(ropeInverseFrequencies(cfg), [1, 0.1, 0.01, 0.001], { rtol: 1e-7 });
    assertAllClose(ropeInverseFrequencies({ ...cfg, ropeTheta: 16 }), [1, 0.5, 0.25, 0.125], { rtol: 1e-7 });
    const linear = ropeInverseFrequencies({ ...cfg, ropeScaling: { type: 'linear', factor: 4 } });
    assertAllClose(linear, [0.25, 0.025, 0.0025, 0.00025], { rtol: 1e-7 });
  });

  it('llama3: short wavelengths kept, long ones divided by the factor, those between interpolated', () => {
    // Wavelengths 2π/f: 6.28, 62.8, 628, 6283. Context 400: kept below 400/4 = 100, divided above 400/1.
    const rs = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 400 };
    const got = ropeInverseFrequencies({ ...cfg, ropeScaling: rs as ModelConfig['ropeScaling'] });
    // 6.28 and 62.8 < 100: kept. 628 and 6283 > 400: divided by 8.
    assertAllClose(got, [1, 0.1, 0.01 / 8, 0.001 / 8], { rtol: 1e-6 });
    // Context 1000: 628 lies between 250 and 1000, smooth = (1000/628.3 − 1) / 3 = 0.19717.
    const mid = ropeInverseFrequencies({
      ...cfg,
      ropeScaling: { ...(rs as { type: 'llama3' }), originalMaxPositionEmbeddings: 1000 } as ModelConfig['ropeScaling'],
    });
    const smooth = (1000 / ((2 * Math.PI) / 0.01) - 1) / 3;
    assertAllClose([mid[2]], [(1 - smooth) * (0.01 / 8) + smooth * 0.01], { rtol: 1e-6 });
  });

  it("a model's tables grow on demand, to the longest position asked for", () => {
    const rope = new Rope(cfg);
    assert.equal(rope.upTo(10).positions, 64);
    assert.equal(rope.upTo(65).positions, 128);
    assert.equal(rope.upTo(999).positions, 1000);
    assert.deepEqual(rope.upTo(999).cos.subarray(0, 4 * 64), ropeTables(rope.invFreq, 64).cos);
  });
});
