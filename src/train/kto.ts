// KTO (Ethayarajh et al., 2024) on unpaired feedback: rows of one completion each, labeled desirable or
// undesirable (TRL's unpaired format, thumbs up and down). Each step takes a batch of rows, estimates the
// reference point z0 from the batch's mismatched pairs (each row's prompt with the previous row's
// completion, under the policy and the reference, no gradients), then the KTO loss on the rows
// (src/objectives/kto.ts). The reference is the starting policy: its log-probs of the rows are taken once,
// before training; those of the mismatched pairs, which depend on the batch, each step.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EpochOrder } from '../data/batching.js';
import type { UnpairedItem } from '../data/formats/trl-unpaired.js';
import { splitEvenly } from '../engine/split.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { TokenPair } from '../model/logprobs.js';
import { trainableParams } from '../model/lora.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { ktoMetrics, ktoReferencePoint, mismatchedPartners } from '../objectives/kto.js';
import { runSharded, shardCount } from '../runtime/replica.js';
import { encodeChatPair } from './chat-data.js';
import { encodePair, fitPair } from './dpo.js';
import { type KTOConfig, ktoOptions, weightAdvice } from './kto-config.js';
import { type KTOShard, ktoKernel, ktoStep } from './kto-kernel.js';
import { type LoopSummary, runTraining } from './loop.js';
import { applyLora } from './lora-options.js';
import { type ReferencePolicy, frozenReference, policyLogProbs, resumePolicy, savePolicy, sums } from './reference.js';

export { type KTOConfig, type KTOOptions, defaultKTOConfig } from './kto-config.js';

/** A row ready to train on: its ids, fitted to the context, its label, and its reference log-prob. */
export interface KTORow {
  pair: TokenPair;
  desirable: boolean;
  /** log π_ref(completion | prompt), summed over the completion's tokens. */
  ref: number;
}

/** The context rows are fitted to: min(--max-length, the model's). */
const contextOf = (policy: CausalLM, cfg: Pick<KTOConfig, 'maxLength'>) =>
  Math.min(cfg.maxLength, policy.config.nPositions);

/**
 * Every row encoded as `train dpo` encodes a pair's side: conversational rows with the policy's chat
 * template (the answer's turn through its end-of-turn token), text rows as prompt + completion + end-of-text;
 * the prompt cut from its start to fit min(--max-length, the context).
 */
export function encodeKTORows(
  policy: CausalLM,
  tok: Tokenizer,
  rows: UnpairedItem[],
  cfg: Pick<KTOConfig, 'maxLength' | 'chatTemplate'>,
  ref: ReferencePolicy,
): KTORow[] {
  const ctx = contextOf(policy, cfg);
  const t = cfg.chatTemplate;
  const pairs = rows.map((r) =>
    t && r.chat
      ? encodeChatPair(tok, t, r.chat.prompt, r.chat.completion, ctx)
      : encodePair(tok, r.prompt, r.completion, ctx),
  );
  const refs = sums(ref.logProbs(pairs));
  return pairs.map((pair, i) => ({ pair, desirable: rows[i].label, ref: refs[i] }));
}

/**
 * The batch's mismatched pairs (mismatchedPartners): row i's prompt with row i−1's completion, the prompt
 * cut from its start so that the pair fits the context.
 */
export function mismatchedPairs(batch: KTORow[], ctx: number): TokenPair[] {
  return mismatchedPartners(batch.length).map((j, i) =>
    fitPair({ prompt: batch[i].pair.prompt, completion: batch[j].pair.completion }, ctx),
  );
}

/** The batch's reference point z0 (0 for apo_zero_unpaired, which has none). */
function referencePoint(
  policy: CausalLM,
  tok: Tokenizer,
  ref: ReferencePolicy,
  batch: KTORow[],
  cfg: KTOConfig,
): number {
  if (cfg.lossType !== 'kto') return 0;
  const kl = mismatchedPairs(batch, contextOf(policy, cfg));
  return ktoReferencePoint(sums(policyLogProbs(policy, tok, kl)), sums(ref.logProbs(kl)));
}

function shards(batch: KTORow[], z0: number, cfg: KTOConfig, tok: Tokenizer): KTOShard[] {
  return splitEvenly(batch, shardCount()).map((part) => ({
    pairs: part.map((r) => r.pair),
    padId: tok.eosId,
    vocabSize: tok.vocabSize,
    ref: part.map((r) => r.ref),
    desirable: part.map((r) => r.desirable),
    z0,
    beta: cfg.beta,
    desirableWeight: cfg.desirableWeight,
    undesirableWeight: cfg.undesirableWeight,
    lossType: cfg.lossType,
    weight: part.length / batch.length,
  }));
}

/** Loss and TRL's metrics of one batch (its logps, in row order, for the metrics). */
function batchMetrics(batch: KTORow[], z0: number, loss: number, logps: number[], beta: number) {
  const m = ktoMetrics(
    logps,
    batch.map((r) => r.ref),
    batch.map((r) => r.desirable),
    z0,
    beta,
  );
  return { loss, metrics: { ...m } as Record<string, number> };
}

/** Cuts rows into batches of `size` (a last single row joins the batch before it: z0 needs two rows). */
function evalBatches(rows: KTORow[], size: number): KTORow[][] {
  const out: KTORow[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  if (out.length > 1 && out[out.length - 1].length < 2) out[out.length - 2].push(...out.pop()!);
  return out;
}

export interface KTOResult extends LoopSummary {
  trainRows: number;
  evalRows: number;
  desirable: number;
  undesirable: number;
  eval: Record<string, number>;
}

/** Warnings about the labels: a single class, and weights outside the KTO paper's advice. */
function checkBalance(rows: KTORow[], cfg: KTOConfig, log: (m: string) => void): { d: number; u: number } {
  const d = rows.filter((r) => r.desirable).length,
    u = rows.length - d;
  if (d === 0 || u === 0)
    log(
      `kto: warning: every training row is labeled ${d ? 'true (desirable)' : 'false (undesirable)'}; KTO learns ` +
        'from one class, but only pushes those completions ' +
        `${d ? 'up' : 'down'} against the KL reference point (--${d ? 'undesirable' : 'desirable'}-weight has no rows)`,
    );
  else {
    const advice = weightAdvice(d, u, cfg);
    if (advice) log(`kto: warning: ${advice}`);
  }
  return { d, u };
}

/**
 * Trains `policy` (the starting policy, also the reference) in place on unpaired rows. With cfg.resume and
 * a run saved in cfg.outDir, the trained weights (or LoRA adapters) come from there.
 */
export function trainKTO(
  policy: CausalLM,
  tok: Tokenizer,
  train: UnpairedItem[],
  evalSet: UnpairedItem[],
  cfg: KTOConfig,
  log: (m: string) => void,
): KTOResult {
  ktoOptions.validate(cfg);
  if (train.length === 0) throw new Error('kto: no training rows');
  if (cfg.lossType === 'kto' && train.length < 2)
    throw new Error('kto: the kto loss needs at least 2 training rows (its KL estimate pairs rows with each other)');
  applyLora(policy, cfg, log);
  // π_ref before any weight moves: the starting policy (with LoRA, the adapters off).
  const ref = frozenReference(policy, tok);
  const data = encodeKTORows(policy, tok, train, cfg, ref);
  const evalData = evalSet.length ? encodeKTORows(policy, tok, evalSet, cfg, ref) : [];
  if (cfg.resume && !resumePolicy(policy, cfg.outDir)) log(`kto: no run to resume in ${cfg.outDir}; starting one`);
  const n = data.length;
  const { d, u } = checkBalance(data, cfg, log);
  const steps = cfg.steps || Math.max(1, Math.ceil((cfg.epochs * n) / cfg.batchSize));
  log(
    `kto: ${n} training rows (${d} desirable, ${u} undesirable), ${evalData.length} eval; ${steps} steps of ` +
      `${cfg.batchSize} rows; β = ${cfg.beta}, loss ${cfg.lossType}, weights ${cfg.desirableWeight}/` +
      `${cfg.undesirableWeight}`,
  );
  const order = new EpochOrder(n, cfg.seed);
  policy.gradientCheckpointing = cfg.gradientCheckpointing;
  const replica = { models: { policy }, heads: {} };
  const evaluate = () => {
    let loss = 0,
      z0 = 0;
    const logps: number[] = [];
    for (const batch of evalBatches(evalData, cfg.batchSize)) {
      const z = referencePoint(policy, tok, ref, batch, cfg);
      const sh = shards(batch, z, cfg, tok);
      const res = sh.map((s) => ktoStep(replica, s, false));
      const w = batch.length / evalData.length;
      loss += w * res.reduce((a, r, k) => a + r.loss * sh[k].weight, 0);
      z0 += w * z;
      logps.push(...res.flatMap((r) => r.logps));
    }
    const all = batchMetrics(evalData, z0, loss, logps, cfg.beta);
    const out: Record<string, number> = { 'eval/loss': all.loss };
    for (const [k, v] of Object.entries(all.metrics)) out[`eval/${k}`] = v;
    return out;
  };
  const summary = runTraining(
    {
      params: trainableParams(policy),
      step(_rng, step) {
        const batch = order.batch(step, cfg.batchSize).map((i) => data[i]);
        const z0 = referencePoint(policy, tok, ref, batch, cfg);
        const sh = shards(batch, z0, cfg, tok);
        const res = runSharded(replica, ktoKernel, sh);
        const loss = res.reduce((a, r, k) => a + r.loss * sh[k].weight, 0);
        const { metrics } = batchMetrics(
          batch,
          z0,
          loss,
          res.flatMap((r) => r.logps),
          cfg.beta,
        );
        return {
          loss,
          tokens: batch.reduce((a, r) => a + r.pair.prompt.length + r.pair.completion.length, 0),
          metrics,
        };
      },
      evaluate: evalData.length ? evaluate : undefined,
      save: (dir) =>
        savePolicy(dir, policy, tok, { trainer: 'kto', beta: cfg.beta, lossType: cfg.lossType }, cfg.chatTemplate),
    },
    { ...cfg, steps },
    { outDir: cfg.outDir, resume: cfg.resume, stopAfter: cfg.stopAfter, label: 'kto', quiet: cfg.quiet },
  );
  const result: KTOResult = {
    ...summary,
    trainRows: n,
    evalRows: evalData.length,
    desirable: d,
    undesirable: u,
    eval: summary.lastEval,
  };
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
