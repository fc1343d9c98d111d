// The benchmark of the reference model: training tokens/s (forward + backward + AdamW), sampling
// tokens/s with the KV cache, peak memory; and the same model in PyTorch, in the same run.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gemm } from '../engine/gemm.js';
import { AdamW, clipGradNorm } from '../engine/optim.js';
import { RNG } from '../engine/rng.js';
import { presetConfig } from '../model/config.js';
import type { CausalLM } from '../model/causal-lm.js';
import { createModel } from '../model/create-model.js';
import { trainableParams } from '../model/lora.js';
import { runSharded, shardCount } from '../runtime/replica.js';
import { RewardModel } from '../model/reward-model.js';
import { scoreRewardTokens, scoreRewards } from '../runtime/reward.js';
import { generate } from '../runtime/sample.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { kernels, shardLM } from '../train/kernels.js';
import { RewardFn } from '../train/reward-fn.js';
import { defaultPPOConfig, trainPPO } from '../train/ppo.js';

export interface BenchOptions {
  steps: number;
  warmup: number;
  /** Run the PyTorch peer when python3 with torch is found. */
  torch: boolean;
  threads: number;
  sampleRepeats: number;
  scorePairs: number;
}

export interface BenchResult {
  model: string;
  batch_size: number;
  context: number;
  backend: string;
  backend_detail: string;
  threads: number;
  blas_threads: number;
  train_tokens_per_s: number;
  sample_tokens_per_s: number;
  /** Seconds of one PPO iteration (batch 16, 64 new tokens, 4 epochs) in each part. */
  ppo_iteration_seconds: { generation: number; scoring: number; logprobs: number; training: number };
  /** Reward-model scoring throughput (pairs of two 64-token sequences). */
  score_pairs_per_s: number;
  peak_rss_mb: number;
  torch_version?: string;
  torch_threads?: number;
  torch_blas?: string;
  torch_train_tokens_per_s?: number;
  torch_sample_tokens_per_s?: number;
  torch_peak_rss_mb?: number;
  train_ratio?: number;
  sample_ratio?: number;
  torch_error?: string;
}

export async function runBench(o: BenchOptions, log: (m: string) => void): Promise<BenchResult> {
  const config = presetConfig('small', { vocabSize: 512, eosTokenId: 511 });
  const { vocabSize: V, nPositions: T } = config;
  const B = 16; // the reference batch, as in bench/torch_bench.py
  const model = createModel(config, 0);
  const rng = new RNG(0);
  const blas = gemm();
  log(
    `ours: ${blas.name} (${blas.detail}), ${shardCount()} threads, model small (V ${V}, T ${T}, C ` +
      `${config.nEmbd}, ${config.nHead} heads, ${config.nLayer} layers), batch ${B}`,
  );
  // The same path as `rlhf train sft`: the batch is split across the threads (RLHF_THREADS).
  const trainTps = timeTraining(model, { batch: B, seq: T, steps: o.steps, warmup: o.warmup }, rng, 'full', log);

  const prompts = Array.from({ length: B }, () => [rng.int(V)]);
  generate(model, prompts, { maxNewTokens: 8, seed: 0 }); // warm-up
  let t0 = performance.now();
  let produced = 0;
  for (let r = 0; r < o.sampleRepeats; r++) {
    // NOTE: no stop tokens, so every row generates all T-1 new tokens, as the PyTorch peer does.
    for (const gen of generate(model, prompts, { maxNewTokens: T - 1, seed: r })) produced += gen.tokens.length;
  }
  const sampleTps = produced / ((performance.now() - t0) / 1000);
  log(`ours: sampling ${Math.round(sampleTps)} tokens/s`);

  // Reward-model scoring: pairs of (prompt, completion) of ~64 tokens each, read at the last token.
  const rm = RewardModel.fromTrunk(model, syntheticTokenizer(V), T, 0);
  const seqs = Array.from({ length: 2 * o.scorePairs }, () => Array.from({ length: 64 }, () => rng.int(V)));
  scoreRewardTokens(rm, seqs.slice(0, 64)); // warm-up
  t0 = performance.now();
  scoreRewardTokens(rm, seqs);
  const scorePps = o.scorePairs / ((performance.now() - t0) / 1000);
  log(`ours: reward scoring ${Math.round(scorePps)} pairs/s (2 × 64 tokens a pair)`);

  // One PPO iteration on the reference model (batch 16, 64 new tokens, 4 epochs of minibatch 8)
  // against a reward model of the same size: where PPO's time goes.
  const ppoOut = mkdtempSync(join(tmpdir(), 'rlhf-bench-ppo-'));
  const ppo = await trainPPO(
    model.clone(),
    rm.tokenizer,
    ['a'],
    ((items) => scoreRewards(rm, items)) as RewardFn,
    {
      ...defaultPPOConfig,
      outDir: ppoOut,
      iterations: 1,
      rolloutBatch: 16,
      minibatch: 8,
      ppoEpochs: 4,
      maxNewTokens: 64,
      quiet: true,
    },
    () => {},
  );
  rmSync(ppoOut, { recursive: true, force: true });
  const ps = ppo.seconds;
  log(
    `ours: one PPO iteration: generation ${ps.generation.toFixed(2)}s, scoring ${ps.scoring.toFixed(2)}s, ` +
      `log-probs and values ${ps.logprobs.toFixed(2)}s, training ${ps.training.toFixed(2)}s`,
  );

  const result: BenchResult = {
    ppo_iteration_seconds: {
      generation: round(ps.generation, 3),
      scoring: round(ps.scoring, 3),
      logprobs: round(ps.logprobs, 3),
      training: round(ps.training, 3),
    },
    score_pairs_per_s: round(scorePps),
    model: 'small',
    batch_size: B,
    context: T,
    backend: blas.name,
    backend_detail: blas.detail,
    threads: shardCount(),
    blas_threads: blas.threads,
    train_tokens_per_s: round(trainTps),
    sample_tokens_per_s: round(sampleTps),
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024),
  };
  if (o.torch) Object.assign(result, runTorch(o, log));
  if (result.torch_train_tokens_per_s) result.train_ratio = round(trainTps / result.torch_train_tokens_per_s, 2);
  if (result.torch_sample_tokens_per_s) result.sample_ratio = round(sampleTps / result.torch_sample_tokens_per_s, 2);
  return result;
}

/**
 * The PyTorch peer's script (under bench/, run from the repository root) and a python3 that imports torch,
 * or why there is none.
 */
export function findTorchPeer(
  name: string,
  log: (m: string) => void,
): { script: string; python: string } | { error: string } {
  const script = resolve('bench', name);
  if (!existsSync(script)) return { error: `${script} not found (run the benchmark from the repository root)` };
  const python = ['/usr/bin/python3', 'python3'].find(
    (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
  );
  if (!python) {
    log(
      'PyTorch not found (python3 -c "import torch" fails): skipping the peer. On Debian: apt-get install ' +
        'python3-torch libopenblas0-pthread',
    );
    return { error: 'python3 with torch not found' };
  }
  return { script, python };
}

function runTorch(o: BenchOptions, log: (m: string) => void): Partial<BenchResult> {
  const peer = findTorchPeer('torch_bench.py', log);
  if ('error' in peer) return { torch_error: peer.error };
  const { script, python } = peer;
  log(`torch: running ${script} with ${python} on ${o.threads} threads`);
  const r = spawnSync(
    python,
    [
      script,
      '--steps',
      String(o.steps),
      '--warmup',
      String(o.warmup),
      '--threads',
      String(o.threads),
      '--sample-runs',
      String(o.sampleRepeats),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0)
    return { torch_error: `torch_bench.py failed: ${(r.stderr || '').trim().split('\n').slice(-3).join(' ')}` };
  for (const line of (r.stderr || '').trim().split('\n')) if (line) log(`torch: ${line}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(last);
    return {
      torch_version: j.torch_version,
      torch_threads: j.threads,
      torch_blas: j.blas,
      torch_train_tokens_per_s: round(j.train_tokens_per_s),
      torch_sample_tokens_per_s: round(j.sample_tokens_per_s),
      torch_peak_rss_mb: round(j.peak_rss_mb),
    };
  } catch {
    return { torch_error: `could not parse torch_bench.py output: ${last.slice(0, 200)}` };
  }
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A byte-level tokenizer with V ids (the benchmark feeds token ids directly; only eosId matters). */
function syntheticTokenizer(V: number): Tokenizer {
  return Tokenizer.train(['benchmark'], { vocabSize: Math.min(V, 258) });
}

/** Tokens/s of training steps (forward, cross-entropy, backward, clip, AdamW) as `rlhf train sft` runs them. */
export function timeTraining(
  model: CausalLM,
  o: { batch: number; seq: number; steps: number; warmup: number },
  rng: RNG,
  label: string,
  log: (m: string) => void,
): number {
  const trained = trainableParams(model);
  const opt = new AdamW(trained, { lr: 1e-4 });
  const { batch: B, seq: T } = o;
  const V = model.config.vocabSize;
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T);
  const replica = { models: { policy: model }, heads: {} };
  const step = () => {
    for (let i = 0; i < ids.length; i++) (ids[i] = rng.int(V)), (targets[i] = rng.int(V));
    opt.zeroGrad();
    runSharded(replica, kernels.lmStep, shardLM(ids, targets, B, T, shardCount()));
    clipGradNorm(trained, 1);
    opt.update();
  };
  for (let i = 0; i < o.warmup; i++) step();
  const t = performance.now();
  for (let i = 0; i < o.steps; i++) step();
  const tps = (o.steps * B * T) / ((performance.now() - t) / 1000);
  const n = trained.reduce((a, p) => a + p.size, 0);
  log(`ours: training (${label}) ${tps.toFixed(1)} tokens/s, ${n.toLocaleString('en-US')} trained parameters`);
  return tps;
}
