import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { gradCheck } from '../engine/gradcheck.js';
import { Graph } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import { Tensor } from '../engine/tensor.js';
import { assertAllClose, assertClose } from '../test-support/assert-close.js';
import { FIXTURE_TOL } from '../test-support/objectives-fixture.js';
import { KTOOptions, kto, ktoLoss, ktoMetrics, ktoReferencePoint, mismatchedPartners } from './kto.js';

// Three completions, β = 1, λ_D = 1, λ_U = 2:
//   log-ratios r = (−10 + 11, −12 + 11, −8 + 8) = (1, −1, 0); labels desirable, undesirable, desirable
//   mismatched pairs: (−9 + 10, −13 + 13, −10 + 10.5) = (1, 0, 0.5), mean z0 = 0.5
const policy = [-10, -12, -8],
  ref = [-11, -11, -8],
  desirable = [true, false, true];
const policyKL = [-9, -13, -10],
  refKL = [-10, -13, -10.5];
const o: KTOOptions = { beta: 1, desirableWeight: 1, undesirableWeight: 2 };

function run(opts: KTOOptions, z0: number, p = policy, r = ref, d = desirable) {
  const x = Tensor.from(p, [p.length], true);
  const g = new Graph();
  const loss = ktoLoss(g, x, r, d, z0, opts);
  const value = loss.item();
  g.backward(loss);
  const grad = Array.from(x.grad!);
  g.dispose();
  return { value, grad };
}

describe('KTO loss', () => {
  it("the reference point is the mismatched pairs' mean log-ratio, clamped at 0", () => {
    assertClose(ktoReferencePoint(policyKL, refKL), 0.5);
    assert.equal(ktoReferencePoint([-3, -4], [-2, -3.5]), 0, 'a negative estimate is clamped to 0');
    assert.deepEqual(mismatchedPartners(3), [2, 0, 1], "row i takes row i−1's completion, row 0 the last");
    assert.throws(() => mismatchedPartners(1), /needs at least 2 rows/);
  });

  it('matches hand-computed loss, gradients and metrics (kto)', () => {
    const out = run(o, 0.5);
    // u = s·β·(r − z0) = (0.5, 1.5, −0.5); 1 − σ(u) = (0.37754067, 0.18242552, 0.62245933)
    // L = (0.37754067 + 2·0.18242552 + 0.62245933)/3
    assertClose(out.value, (1 + 2 * 0.18242552) / 3);
    // dL/d log π_i = −λ_i·s_i·β·σ(u_i)(1 − σ(u_i))/B
    //   σ(0.5)(1 − σ(0.5)) = 0.23500371, σ(1.5)(1 − σ(1.5)) = 0.14914645
    assertAllClose(out.grad, [-0.23500371 / 3, (2 * 0.14914645) / 3, -0.23500371 / 3]);
    const ref0 = kto(policy, ref, desirable, 0.5, o);
    assertClose(ref0.loss, out.value);
    assertAllClose(ref0.grad, out.grad);
    const m = ktoMetrics(policy, ref, desirable, 0.5, 1);
    assert.deepEqual(m, {
      kl: 0.5,
      'rewards/chosen': 0.5,
      'logps/chosen': -9,
      'rewards/rejected': -1,
      'logps/rejected': -12,
      'rewards/margins': 1.5,
    });
    assert.deepEqual(Object.keys(ktoMetrics([-1], [-1], [true], 0, 1)).sort(), [
      'kl',
      'logps/chosen',
      'rewards/chosen',
    ]);
  });

  it('apo_zero_unpaired ignores the reference point: desirable 1 − σ(βr), undesirable σ(βr)', () => {
    const a = run({ ...o, lossType: 'apo_zero_unpaired' }, 0.5),
      b = run({ ...o, lossType: 'apo_zero_unpaired' }, 0);
    // (1 − σ(1) + 2·σ(−1) + 1 − σ(0))/3 = (0.26894142 + 0.53788284 + 0.5)/3
    assertClose(a.value, (0.26894142 * 3 + 0.5) / 3);
    assert.equal(a.value, b.value);
  });

  it('gradient checks pass', () => {
    const x = Tensor.from([-3.1, -2.2, -4.0, -1.5], [4], true);
    for (const lossType of ['kto', 'apo_zero_unpaired'] as const)
      gradCheck(
        (g) =>
          ktoLoss(g, x, [-3, -2.5, -3.6, -2], [true, false, false, true], 0.3, {
            beta: 0.5,
            desirableWeight: 1.3,
            undesirableWeight: 0.7,
            lossType,
          }),
        [x],
      );
  });

  it('rejects impossible settings, naming the field', () => {
    assert.throws(() => run({ beta: 0 }, 0), /beta must be > 0/);
    assert.throws(() => run({ desirableWeight: -1 }, 0), /desirableWeight must be a finite number ≥ 0/);
    assert.throws(() => run({}, -0.1), /z0 must be a finite number ≥ 0/);
    assert.throws(() => run({}, 0, policy, [1, 2]), /ref has 2 entries, expected 3/);
  });
});

// ---- against TRL's formula in PyTorch ----

const python = ['/usr/bin/python3', 'python3'].find(
  (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);

describe("KTO against TRL's formula in PyTorch (tests/interop/torch_kto.py)", () => {
  it(
    'loss, gradients w.r.t. the log-probs (none through the KL term) and metrics, for both loss types',
    { skip: python ? false : 'PyTorch not installed (apt-get install python3-torch)' },
    () => {
      const rng = new RNG(11);
      const draw = (n: number, mean: number, std: number) =>
        Array.from({ length: n }, () => Math.fround(mean + std * rng.normal()));
      const cases = [
        // [loss type, B, β, λ_D, λ_U, KL shift (positive: z0 > 0; negative: clamped to 0), labels]
        ['kto', 8, 0.1, 1, 1, 2, null],
        ['kto', 6, 0.5, 1.33, 0.8, -2, null],
        ['kto', 5, 2, 1, 1, 0.5, [true, true, true, true, true]],
        ['apo_zero_unpaired', 7, 0.3, 1, 1.5, 1, null],
      ].map(([lossType, B, beta, dw, uw, shift, labels]) => {
        const n = B as number;
        const policyKL = draw(n, -20, 3);
        return {
          loss_type: lossType as string,
          beta: beta as number,
          desirable_weight: dw as number,
          undesirable_weight: uw as number,
          labels: (labels as boolean[] | null) ?? Array.from({ length: n }, (_, i) => i % 3 !== 1),
          policy_logps: draw(n, -20, 4),
          ref_logps: draw(n, -20, 4),
          policy_kl_logps: policyKL,
          ref_kl_logps: policyKL.map((x) => Math.fround(x - (shift as number) + rng.normal())),
        };
      });
      const r = spawnSync(python!, ['tests/interop/torch_kto.py'], {
        input: JSON.stringify({ cases }),
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const want = JSON.parse(r.stdout).cases;
      cases.forEach((c, k) => {
        const w = want[k];
        const what = `case ${k} (${c.loss_type})`;
        const opts: KTOOptions = {
          beta: c.beta,
          desirableWeight: c.desirable_weight,
          undesirableWeight: c.undesirable_weight,
          lossType: c.loss_type as KTOOptions['lossType'],
        };
        const z0 = c.loss_type === 'kto' ? ktoReferencePoint(c.policy_kl_logps, c.ref_kl_logps) : 0;
        assertClose(z0, w.kl, FIXTURE_TOL, `${what}: z0`);
        const out = run(opts, z0, c.policy_logps, c.ref_logps, c.labels);
        assertClose(out.value, w.loss, FIXTURE_TOL, `${what}: loss`);
        assertAllClose(out.grad, w.grad_policy_logps, FIXTURE_TOL, `${what}: d loss/d log π`);
        assert.ok(
          w.grad_policy_kl_logps.every((x: number) => x === 0),
          'TRL detaches the KL term, as z0 is a plain number here',
        );
        const m = ktoMetrics(c.policy_logps, c.ref_logps, c.labels, z0, c.beta) as unknown as Record<string, number>;
        assert.deepEqual(Object.keys(m).sort(), Object.keys(w.metrics).sort(), `${what}: the metrics logged`);
        for (const key of Object.keys(w.metrics)) assertClose(m[key], w.metrics[key], FIXTURE_TOL, `${what}: ${key}`);
      });
      assert.ok(want[0].kl > 0 && want[1].kl === 0, 'one case has a positive reference point, one a clamped one');
    },
  );
});
