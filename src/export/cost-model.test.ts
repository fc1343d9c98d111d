import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BENCH_PPO,
  CPU_SGEMM_PEAK,
  GPUS,
  OPENRLHF_PPO,
  stateBytes,
  clusterUtilization,
  estimatePPO,
  formatDuration,
  iterationFlops,
  measuredRates,
  parseCount,
  totalFlops,
} from './cost-model.js';
import { assertClose } from '../test-support/assert-close.js';

const REL = { rtol: 1e-12 }; // the model is closed-form: only float64 rounding may differ

describe('PPO cost model', () => {
  it('counts FLOPs per phase by hand', () => {
    // N = 1000, B = 2 rollouts of 3 + 5 tokens: B·S = 16; 2 epochs; no separate value model.
    const f = iterationFlops({
      params: 1000,
      promptTokens: 3,
      responseTokens: 5,
      rollouts: 2,
      iterations: 1,
      epochs: 2,
    });
    assert.deepEqual(f, { generation: 32_000, scoring: 32_000, logprobs: 64_000, training: 192_000 });
    // A reward model of another size and OpenRLHF's separate critic.
    const g = iterationFlops({
      params: 1000,
      rewardParams: 10,
      valueParams: 500,
      promptTokens: 3,
      responseTokens: 5,
      rollouts: 2,
      iterations: 1,
      epochs: 2,
    });
    assert.deepEqual(g, { generation: 32_000, scoring: 320, logprobs: 2 * 2500 * 16, training: 6 * 2 * 1500 * 16 });
  });

  it("reproduces the benchmark's measured seconds from the rates it derives", () => {
    const e = estimatePPO(BENCH_PPO.run, { gpus: 1, gpu: GPUS.a100 });
    for (const p of ['generation', 'scoring', 'logprobs', 'training'] as const)
      assertClose(e.here[p], BENCH_PPO.seconds[p], REL);
    assertClose(e.here.total, 0.2 + 0.14 + 0.21 + 0.99, REL);
    const r = measuredRates();
    // The small model's phases run at 9–23 GFLOP/s here (docs/measurements.md, "Performance", run 4).
    assert.ok(r.generation > 8e9 && r.generation < 10e9, `${r.generation}`);
    assert.ok(r.training > 20e9 && r.training < 25e9, `${r.training}`);
  });

  it("calibrates cluster utilization on OpenRLHF's published 7B run", () => {
    // 22·N·B·S FLOPs (generation 2, reward 2, actor + reference + critic forward 6, actor and critic training 12).
    const flops = 22 * 7e9 * 1024 * 1024;
    assertClose(totalFlops(iterationFlops(OPENRLHF_PPO.run)), flops, REL);
    assertClose(clusterUtilization(), flops / (16 * 312e12 * 471.11), REL);
    assert.ok(clusterUtilization() > 0.06 && clusterUtilization() < 0.08);
    // Timing that same run with its own utilization gives its measured seconds back.
    assertClose(estimatePPO(OPENRLHF_PPO.run, { gpus: 16, gpu: GPUS.a100 }).cluster.seconds, 471.11, REL);
  });

  it('scales linearly with iterations and inversely with GPUs', () => {
    const run = { params: 124e6, promptTokens: 128, responseTokens: 128, rollouts: 512, iterations: 10, epochs: 4 };
    const a = estimatePPO(run, { gpus: 8, gpu: GPUS.h100 });
    const b = estimatePPO({ ...run, iterations: 20 }, { gpus: 16, gpu: GPUS.h100 });
    assertClose(b.here.total, 2 * a.here.total, REL);
    assertClose(b.cluster.seconds, a.cluster.seconds, REL);
    assertClose(a.cluster.gpuHours, (a.cluster.seconds * 8) / 3600, REL);
    assertClose(a.speedup, a.here.total / a.cluster.seconds, REL);
    assertClose(
      estimatePPO(run, { gpus: 8, gpu: GPUS.h100, utilization: 0.5 }).cluster.seconds,
      a.flops / (8 * 989.4e12 * 0.5),
      REL,
    );
  });

  it('bounds the time here by the matrix-product peak, and counts the float32 state', () => {
    const run = { params: 1e9, promptTokens: 10, responseTokens: 10, rollouts: 10, iterations: 1, epochs: 1 };
    const e = estimatePPO(run, { gpus: 1, gpu: GPUS.a100 });
    assertClose(e.hereBest, e.flops / CPU_SGEMM_PEAK, REL);
    assert.ok(e.hereBest < e.here.total);
    assertClose(stateBytes(run), 24e9, REL);
    assertClose(stateBytes({ ...run, valueParams: 1e9, rewardParams: 1e8 }), 16e9 + 4e9 + 4e8 + 16e9, REL);
  });

  it('parses counts and formats durations', () => {
    assert.deepEqual(['124M', '1.5B', '7e9', '875264', '12k'].map(parseCount), [124e6, 1.5e9, 7e9, 875264, 12000]);
    assert.throws(() => parseCount('lots'), /expected a count such as 124M/);
    assert.deepEqual([42, 600, 7200, 3 * 86400, 400 * 86400, 5 * 31557600, 2e11].map(formatDuration), [
      '42 s',
      '10 min',
      '2.0 h',
      '3.0 days',
      '400 days',
      '5.0 years',
      '6,338 years',
    ]);
  });
});
