// What a PPO run costs on this machine and on a GPU cluster, scaled by FLOPs (docs/gpu-handoff.md).
//
// Per iteration, with B rollouts of S = P + R tokens (prompt + response), policy N parameters,
// reward model N_r, a separate value model N_v (0 when the value head shares the policy's trunk,
// as ours does) and E PPO epochs; 2 FLOPs per parameter per token forward, 6 forward + backward
// (Kaplan et al. 2020), attention's own FLOPs left out:
//
//   generation  2·N·B·S              (prefill P and decode R tokens with a KV cache)
//   scoring     2·N_r·B·S
//   logprobs    2·(2N + N_v)·B·S     (policy and frozen reference, and the value model)
//   training    6·E·(N + N_v)·B·S
//
// Here, each phase runs at the FLOP rate measured by `rlhf bench` on its PPO iteration (docs/measurements.md,
// "Performance", run 4). On GPUs, the whole iteration runs at G · peak · u, with u the end-to-end
// utilization of OpenRLHF's published PPO run (README of OpenRLHF/OpenRLHF, "Performance": a 7B
// model on 16 A800-80GB GPUs trains 1,024 prompts for one PPO epoch in 471.11 s), counted with the
// same formulas for its separate reward, critic and reference models.

import { countParameters, presetConfig } from '../model/config.js';

export interface PPORun {
  /** Policy parameters N (the reference model is a copy). */
  params: number;
  /** Reward model parameters (default N). */
  rewardParams?: number;
  /** Separate value model parameters (default 0: a value head on the policy, as `rlhf train ppo`). */
  valueParams?: number;
  promptTokens: number;
  responseTokens: number;
  /** Rollouts per PPO iteration (B). */
  rollouts: number;
  iterations: number;
  /** PPO epochs over each batch of rollouts (E). */
  epochs: number;
}

export interface PhaseFlops {
  generation: number;
  scoring: number;
  logprobs: number;
  training: number;
}

export const PHASES = ['generation', 'scoring', 'logprobs', 'training'] as const;

/** FLOPs of one PPO iteration, per phase. */
export function iterationFlops(r: PPORun): PhaseFlops {
  const N = r.params,
    Nr = r.rewardParams ?? N,
    Nv = r.valueParams ?? 0;
  const BS = r.rollouts * (r.promptTokens + r.responseTokens);
  return {
    generation: 2 * N * BS,
    scoring: 2 * Nr * BS,
    logprobs: 2 * (2 * N + Nv) * BS,
    training: 6 * r.epochs * (N + Nv) * BS,
  };
}

export const totalFlops = (f: PhaseFlops): number => f.generation + f.scoring + f.logprobs + f.training;

/**
 * `rlhf bench`'s PPO iteration (docs/measurements.md, "Performance", run 4): the small preset (vocab 512,
 * context 128), reward model of the same size, 16 rollouts of a 1-token prompt and 64 new tokens,
 * 4 epochs; seconds per phase.
 */
export const BENCH_PPO = {
  run: {
    params: countParameters(presetConfig('small')),
    promptTokens: 1,
    responseTokens: 64,
    rollouts: 16,
    iterations: 1,
    epochs: 4,
  } as PPORun,
  seconds: { generation: 0.2, scoring: 0.14, logprobs: 0.21, training: 0.99 } as PhaseFlops,
};

/** FLOP/s of each phase on this machine, from a measured iteration. */
export function measuredRates(bench = BENCH_PPO): PhaseFlops {
  const f = iterationFlops(bench.run);
  return {
    generation: f.generation / bench.seconds.generation,
    scoring: f.scoring / bench.seconds.scoring,
    logprobs: f.logprobs / bench.seconds.logprobs,
    training: f.training / bench.seconds.training,
  };
}

/**
 * The most this machine can do: every FLOP at OpenBLAS's float32 matrix-product peak, ~167 GFLOP/s
 * on its 2 cores (shared/design.md §5, cblas_sgemm on 1024³). Larger models than the benchmark's
 * run their products nearer this rate, so the truth for them lies between the two estimates.
 */
export const CPU_SGEMM_PEAK = 167e9;

/**
 * Bytes of float32 state a PPO run holds here: the policy's weights, gradients and two AdamW
 * moments (16 B a parameter), the frozen reference and reward models (4 B each), and a separate
 * value model trained like the policy (16 B). Activations come on top.
 */
export function stateBytes(r: PPORun): number {
  return 16 * r.params + 4 * r.params + 4 * (r.rewardParams ?? r.params) + 16 * (r.valueParams ?? 0);
}

export interface GPU {
  name: string;
  /** Dense BF16 tensor-core peak, FLOP/s. */
  peak: number;
  source: string;
}

export const GPUS: Record<string, GPU> = {
  a100: {
    name: 'A100 (and A800)',
    peak: 312e12,
    source: 'NVIDIA A100 datasheet: 312 TFLOPS BF16 dense (624 with sparsity)',
  },
  h100: {
    name: 'H100 SXM',
    peak: 989.4e12,
    source: 'NVIDIA H100 datasheet: 989.4 TFLOPS BF16 dense (1,979 with sparsity)',
  },
};

/**
 * OpenRLHF's published run: Llama-7B-sized actor, critic, reward and reference models, 1,024
 * prompts, one PPO epoch, 16 A800s, 471.11 s. Its token count per sample is not published; its
 * example scripts allow 1,024 prompt + 1,024 generated tokens, and we assume half of that.
 */
export const OPENRLHF_PPO = {
  run: {
    params: 7e9,
    rewardParams: 7e9,
    valueParams: 7e9,
    promptTokens: 512,
    responseTokens: 512,
    rollouts: 1024,
    iterations: 1,
    epochs: 1,
  } as PPORun,
  gpus: 16,
  gpu: GPUS.a100,
  seconds: 471.11,
};

/** End-to-end utilization (model FLOPs / peak FLOPs) of a measured GPU run. */
export function clusterUtilization(ref = OPENRLHF_PPO): number {
  return (totalFlops(iterationFlops(ref.run)) * ref.run.iterations) / (ref.gpus * ref.gpu.peak * ref.seconds);
}

export interface CostEstimate {
  flops: number;
  /** Seconds on this machine, per phase and in all, at the measured rates. */
  here: PhaseFlops & { total: number };
  /** Seconds on this machine if every FLOP ran at the matrix-product peak: a lower bound. */
  hereBest: number;
  /** Float32 state the run holds here (stateBytes). */
  stateBytes: number;
  /** Seconds on the cluster. */
  cluster: { gpus: number; gpu: GPU; utilization: number; seconds: number; gpuHours: number };
  /** How many times faster the cluster is. */
  speedup: number;
}

export function estimatePPO(
  run: PPORun,
  cluster: { gpus: number; gpu: GPU; utilization?: number },
  rates = measuredRates(),
): CostEstimate {
  const f = iterationFlops(run);
  const it = run.iterations;
  const here = {
    generation: (it * f.generation) / rates.generation,
    scoring: (it * f.scoring) / rates.scoring,
    logprobs: (it * f.logprobs) / rates.logprobs,
    training: (it * f.training) / rates.training,
    total: 0,
  };
  here.total = here.generation + here.scoring + here.logprobs + here.training;
  const flops = it * totalFlops(f);
  const utilization = cluster.utilization ?? clusterUtilization();
  const seconds = flops / (cluster.gpus * cluster.gpu.peak * utilization);
  return {
    flops,
    here,
    hereBest: flops / CPU_SGEMM_PEAK,
    stateBytes: stateBytes(run),
    cluster: { gpus: cluster.gpus, gpu: cluster.gpu, utilization, seconds, gpuHours: (seconds * cluster.gpus) / 3600 },
    speedup: here.total / seconds,
  };
}

/** "124M", "1.5B", "7e9", "875264" → a count. */
export function parseCount(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kKmMbB]?)\s*$/.exec(s);
  if (!m) throw new Error(`expected a count such as 124M, 1.5B or 875264, got "${s}"`);
  const mult = { '': 1, k: 1e3, m: 1e6, b: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'b'];
  return Math.round(Number(m[1]) * mult);
}

/** Seconds as "42 s", "3.1 min", "5.2 h", "4.0 days", "2.1 years". */
export function formatDuration(s: number): string {
  const n = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(2));
  if (s < 90) return `${n(s)} s`;
  if (s < 5400) return `${n(s / 60)} min`;
  if (s < 172800) return `${n(s / 3600)} h`;
  if (s < 2 * 31557600) return `${n(s / 86400)} days`;
  return `${n(s / 31557600)} years`;
}
