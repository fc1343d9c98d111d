// `rlhf bench --model DIR`: speed and memory at a real checkpoint's shape (GPT-2, Llama, Qwen2, Qwen3),
// with PyTorch on the same shape and the same kind of data in the same run (bench/torch_model_bench.py).
// DIR needs only config.json: without weights the model is random, which times the same work.

import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeWeights } from '../engine/decode-weights.js';
import { gemm } from '../engine/gemm.js';
import { RNG } from '../engine/rng.js';
import type { CausalLM } from '../model/causal-lm.js';
import { loadCheckpoint, readCheckpointConfig } from '../model/checkpoint.js';
import { fromHFConfig } from '../model/hf-config.js';
import { countParameters, familyOf } from '../model/config.js';
import { createModel } from '../model/create-model.js';
import { findModelWeights } from '../model/weights.js';
import { attachLora } from '../model/lora.js';
import { rewardHead } from '../model/heads.js';
import { RewardModel } from '../model/reward-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { scoreRewardTokens } from '../runtime/reward.js';
import { shardCount } from '../runtime/replica.js';
import { generate } from '../runtime/sample.js';
import { findTorchPeer, timeTraining } from './bench.js';

export interface ModelBenchOptions {
  dir: string;
  batch: number;
  seq: number;
  steps: number;
  warmup: number;
  /** Sampling: prompts of `prompt` tokens, `newTokens` generated for each of `sampleBatch` rows. */
  sampleBatch: number;
  prompt: number;
  newTokens: number;
  torch: boolean;
  threads: number;
  /** Skip full training (a model whose optimizer state does not fit). */
  skipFull: boolean;
  /** Also time LoRA training of this rank (0: not), on these modules (empty: the family's default). */
  loraRank?: number;
  loraTargets?: string[];
}

export interface ModelBenchResult {
  model: string;
  family: string;
  parameters: number;
  batch_size: number;
  seq: number;
  threads: number;
  backend: string;
  train_tokens_per_s?: number;
  lora_train_tokens_per_s?: number;
  sample_tokens_per_s: number;
  /** Sampling with the decode steps on bfloat16 copies of the weights (`rlhf sample --dtype bfloat16`). */
  sample_bf16_tokens_per_s: number;
  score_tokens_per_s: number;
  peak_rss_mb: number;
  torch_version?: string;
  torch_threads?: number;
  torch_train_tokens_per_s?: number;
  torch_lora_train_tokens_per_s?: number;
  torch_sample_tokens_per_s?: number;
  torch_sample_bf16_tokens_per_s?: number;
  torch_score_tokens_per_s?: number;
  torch_peak_rss_mb?: number;
  train_ratio?: number;
  lora_train_ratio?: number;
  sample_ratio?: number;
  sample_bf16_ratio?: number;
  score_ratio?: number;
  torch_error?: string;
}

export async function runModelBench(o: ModelBenchOptions, log: (m: string) => void): Promise<ModelBenchResult> {
  // DIR, or a config.json file (bench/shapes/*.json): a shape with random weights.
  const configFile = statSync(o.dir).isFile() ? o.dir : join(o.dir, 'config.json');
  const weights = configFile === o.dir ? null : findModelWeights(o.dir);
  const config =
    configFile === o.dir
      ? fromHFConfig(JSON.parse(readFileSync(o.dir, 'utf8')), o.dir)
      : readCheckpointConfig(o.dir).config;
  if (o.seq > config.nPositions)
    throw new Error(`--seq ${o.seq} is longer than the model's context (${config.nPositions} positions)`);
  if (o.prompt + o.newTokens > config.nPositions)
    throw new Error(`--prompt ${o.prompt} + --new-tokens ${o.newTokens} exceed the context (${config.nPositions})`);
  const t0 = performance.now();
  const model: CausalLM = weights ? loadCheckpoint(o.dir).model : createModel(config, 0);
  const parameters = countParameters(config);
  log(
    `ours: ${familyOf(config)} with ${parameters.toLocaleString('en-US')} parameters ` +
      `(${weights ? 'weights loaded' : 'random weights, config.json only'}) in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)}s; ${gemm().name}, ${shardCount()} threads`,
  );
  const rng = new RNG(0);
  const V = config.vocabSize;

  // KV-cache sampling, as `rlhf sample` runs it: no stop tokens, so every row makes all its tokens.
  const prompts = () => Array.from({ length: o.sampleBatch }, () => Array.from({ length: o.prompt }, () => rng.int(V)));
  const timeSampling = (decodeWeights: 'float32' | 'bfloat16') => {
    // Warm-up: the weights' copy, and enough steps for V8 to optimize the sampling code.
    generate(model, prompts(), { maxNewTokens: Math.min(16, o.newTokens), seed: 0, decodeWeights });
    const t0 = performance.now();
    let produced = 0;
    for (const gen of generate(model, prompts(), { maxNewTokens: o.newTokens, seed: 1, decodeWeights }))
      produced += gen.tokens.length;
    const tps = produced / ((performance.now() - t0) / 1000);
    const what = `${o.sampleBatch} × ${o.newTokens} after ${o.prompt}, ${decodeWeights}`;
    log(`ours: sampling ${tps.toFixed(1)} tokens/s (${what})`);
    return tps;
  };
  const sampleTps = timeSampling('float32');
  const sampleBf16Tps = timeSampling('bfloat16');
  decodeWeights()?.clear();

  // Scoring: batch × seq tokens through a reward model (the model with a score head), as `rlhf score`, PPO and
  // best-of-N run it: split across the threads like PyTorch's forward, which uses them all.
  const rm = new RewardModel(model, rewardHead(config.nEmbd), Tokenizer.train(['bench'], { vocabSize: 257 }));
  const seqs = () => Array.from({ length: o.batch }, () => Array.from({ length: o.seq }, () => rng.int(V)));
  const perThread = Math.ceil(o.batch / shardCount());
  scoreRewardTokens(rm, seqs(), perThread);
  const t = performance.now();
  scoreRewardTokens(rm, seqs(), perThread);
  const scoreTps = (o.batch * o.seq) / ((performance.now() - t) / 1000);
  log(`ours: scoring ${scoreTps.toFixed(1)} tokens/s (${o.batch} × ${o.seq} through a reward model)`);

  const result: ModelBenchResult = {
    model: resolve(o.dir),
    family: familyOf(config),
    parameters,
    batch_size: o.batch,
    seq: o.seq,
    threads: shardCount(),
    backend: gemm().name,
    sample_tokens_per_s: round(sampleTps, 1),
    sample_bf16_tokens_per_s: round(sampleBf16Tps, 1),
    score_tokens_per_s: round(scoreTps, 1),
    peak_rss_mb: 0,
  };
  if (!o.skipFull) result.train_tokens_per_s = round(timeTraining(model, o, rng, 'full', log), 1);
  if (o.loraRank) {
    const rank = o.loraRank;
    attachLora(model, { rank, alpha: 2 * rank, dropout: 0, targets: o.loraTargets ?? [] });
    result.lora_train_tokens_per_s = round(timeTraining(model, o, rng, `LoRA r=${rank}`, log), 1);
  }
  result.peak_rss_mb = round(process.resourceUsage().maxRSS / 1024);
  if (o.torch) Object.assign(result, runTorchPeer(o, log));
  const ratio = (ours?: number, theirs?: number) => (ours && theirs ? round(ours / theirs, 2) : undefined);
  result.train_ratio = ratio(result.train_tokens_per_s, result.torch_train_tokens_per_s);
  result.lora_train_ratio = ratio(result.lora_train_tokens_per_s, result.torch_lora_train_tokens_per_s);
  result.sample_ratio = ratio(result.sample_tokens_per_s, result.torch_sample_tokens_per_s);
  result.sample_bf16_ratio = ratio(result.sample_bf16_tokens_per_s, result.torch_sample_bf16_tokens_per_s);
  result.score_ratio = ratio(result.score_tokens_per_s, result.torch_score_tokens_per_s);
  return result;
}

function runTorchPeer(o: ModelBenchOptions, log: (m: string) => void): Partial<ModelBenchResult> {
  const peer = findTorchPeer('torch_model_bench.py', log);
  if ('error' in peer) return { torch_error: peer.error };
  const { script, python } = peer;
  const args = [
    script,
    ...['--config', statSync(o.dir).isFile() ? o.dir : join(o.dir, 'config.json')],
    ...['--threads', String(o.threads)],
    ...['--batch', String(o.batch), '--seq', String(o.seq), '--steps', String(o.steps), '--warmup', String(o.warmup)],
    ...['--sample-batch', String(o.sampleBatch), '--prompt', String(o.prompt), '--new-tokens', String(o.newTokens)],
    ...['--lora-rank', String(o.loraRank ?? 0), '--lora-targets', (o.loraTargets ?? []).join(',')],
    ...(o.skipFull ? ['--skip-full'] : []),
  ];
  log(`torch: running ${script} with ${python} on ${o.threads} threads`);
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  for (const line of (r.stderr || '').trim().split('\n')) if (line) log(`torch: ${line}`);
  if (r.status !== 0) return { torch_error: `torch_model_bench.py exited with ${r.status}` };
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(last);
    return {
      torch_version: j.torch_version,
      torch_threads: j.threads,
      torch_train_tokens_per_s: j.train_tokens_per_s,
      torch_lora_train_tokens_per_s: j.lora_train_tokens_per_s,
      torch_sample_tokens_per_s: j.sample_tokens_per_s,
      torch_sample_bf16_tokens_per_s: j.sample_bf16_tokens_per_s,
      torch_score_tokens_per_s: j.score_tokens_per_s,
      torch_peak_rss_mb: j.peak_rss_mb,
    };
  } catch {
    return { torch_error: `could not parse torch_model_bench.py output: ${last.slice(0, 200)}` };
  }
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
