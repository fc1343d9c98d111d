import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveKLController, FixedKLController } from './kl-controller.js';
import { assertClose } from '../test-support/assert-close.js';

describe('KL controllers', () => {
  it("the adaptive controller follows Ziegler et al.'s update exactly", () => {
    const c = new AdaptiveKLController(0.2, 6, 10000);
    // KL 8 over target 6: error 8/6 − 1 = 0.333 → clipped to 0.2; β = 0.2·(1 + 0.2·256/10000) = 0.2·1.00512
    c.update(8, 256);
    assertClose(c.value, 0.201024, 1e-12);
    // KL 5.4: error 0.9 − 1 = −0.1; β = 0.201024·(1 − 0.1·512/10000) = 0.201024·0.99488
    c.update(5.4, 512);
    assertClose(c.value, 0.19999475712, 1e-12);
    // KL 0: error −1 → clipped to −0.2; β ·= 1 − 0.2·1000/10000 = 0.98
    c.update(0, 1000);
    assertClose(c.value, 0.19999475712 * 0.98, 1e-12);
    // on target: no change
    c.update(6, 1000);
    assertClose(c.value, 0.19999475712 * 0.98, 1e-12);
  });

  it('the fixed controller never moves', () => {
    const c = new FixedKLController(0.05);
    c.update(100, 1000);
    assert.equal(c.value, 0.05);
  });

  it('rejects impossible settings, naming them', () => {
    assert.throws(() => new AdaptiveKLController(0.1, 0, 10000), /target must be > 0/);
    assert.throws(() => new AdaptiveKLController(0.1, 6, 0), /horizon must be > 0/);
    assert.throws(() => new FixedKLController(-1), /must be ≥ 0/);
    assert.throws(() => new AdaptiveKLController(0.1, 6, 10).update(NaN, 1), /currentKL is NaN/);
  });
});
