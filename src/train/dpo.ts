// DPO (Rafailov et al., 2023) and IPO: preference optimization without a reward model. The frozen
// reference is the starting policy; its log-probabilities are computed once, before training. With
// LoRA the reference is the same model with its adapters off, so a LoRA run can resume.

import { EpochOrder } from '../data/batching.js';
import { splitEvenly } from '../engine/split.js';
import { encodePrompt } from '../model/prompt.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Comparison, toPairs } from '../data/comparison.js';
import type { CausalLM } from '../model/causal-lm.js';
import { trainableParams, withAdaptersDisabled } from '../model/lora.js';
import { TokenPair } from '../model/logprobs.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { runSharded, shardCount } from '../runtime/replica.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { DPOShard, DPOStepResult, dpoStep, kernels } from './kernels.js';
import { type DPOConfig, dpoOptions } from './dpo-config.js';
import { encodeChatPair } from './chat-data.js';
import { LoopSummary, runTraining } from './loop.js';
import { applyLora, resumeLora } from './lora-options.js';
import { savePolicy } from './reference.js';

export { type DPOConfig, type DPOOptions, defaultDPOConfig } from './dpo-config.js';

/** A pair as DPO trains on it: both sides' ids and their reference sequence log-probs. */
export interface EncodedPair {
  chosen: TokenPair;
  rejected: TokenPair;
  refChosen: number;
  refRejected: number;
}

/** A pair cut to fit ctx fed tokens: the completion to its first ctx, the prompt from its start (≥ 1 token kept). */
export function fitPair(p: TokenPair, ctx: number): TokenPair {
  const completion = p.completion.length > ctx ? p.completion.slice(0, ctx) : p.completion;
  const room = ctx + 1 - completion.length;
  return { prompt: p.prompt.length > room ? p.prompt.slice(p.prompt.length - room) : p.prompt, completion };
}

/** prompt + completion + <|endoftext|>, the prompt cut from its start to fit the context. */
export function encodePair(tok: Tokenizer, prompt: string, completion: string, ctx: number): TokenPair {
  let c = [...tok.encode(completion), tok.eosId];
  if (c.length > ctx) c = c.slice(0, ctx);
  // prompt + completion − 1 tokens are fed: the prompt keeps its last ctx + 1 − |completion| (≥ 1).
  return { prompt: encodePrompt(tok, prompt, ctx + 1 - c.length), completion: c };
}

/**
 * Per-token log-probs of completions under the reference: the starting policy, frozen (with LoRA, the
 * model with its adapters off) — so they can be taken once, before training.
 */
export function referenceLogProbs(policy: CausalLM, tok: Tokenizer, pairs: TokenPair[]): number[][] {
  return withAdaptersDisabled(policy, () => completionLogProbs(policy, pairs, tok.eosId, { vocabSize: tok.vocabSize }));
}

/** A completion's log-prob as the loss takes it: the sum of its tokens', or their mean for IPO. */
export function sequenceValue(tokenLogProbs: number[], loss: DPOConfig['loss']): number {
  const sum = tokenLogProbs.reduce((a, b) => a + b, 0);
  return loss === 'ipo' ? sum / Math.max(1, tokenLogProbs.length) : sum;
}

/** Every pair of the comparisons, encoded to fit min(--max-length, the context), with reference log-probs. */
export function encodeDPOPairs(
  policy: CausalLM,
  tok: Tokenizer,
  comps: Comparison[],
  cfg: Pick<DPOConfig, 'maxLength' | 'chatTemplate' | 'loss'>,
): EncodedPair[] {
  // NOTE: real models have 8k–128k positions; one long pair would size every activation of its batch.
  const ctx = Math.min(cfg.maxLength, policy.config.nPositions);
  const t = cfg.chatTemplate;
  // Conversational pairs with the policy's chat template (the answer's turn through its end-of-turn token);
  // text pairs, and all pairs of a policy without a template, as text + end-of-text.
  const pairs = comps
    .flatMap((c) => toPairs(c))
    .map((p) => ({
      chosen:
        t && p.chat
          ? encodeChatPair(tok, t, p.chat.prompt, p.chat.chosen, ctx)
          : encodePair(tok, p.prompt, p.chosen, ctx),
      rejected:
        t && p.chat
          ? encodeChatPair(tok, t, p.chat.prompt, p.chat.rejected, ctx)
          : encodePair(tok, p.prompt, p.rejected, ctx),
    }));
  const ref = referenceLogProbs(
    policy,
    tok,
    pairs.flatMap((p) => [p.chosen, p.rejected]),
  );
  const seq = (lp: number[]) => sequenceValue(lp, cfg.loss);
  return pairs.map((p, i) => ({ ...p, refChosen: seq(ref[2 * i]), refRejected: seq(ref[2 * i + 1]) }));
}

/** A batch of pairs split across threads, each shard weighted by its share of the pairs. */
export function dpoShards(
  items: EncodedPair[],
  cfg: Pick<DPOConfig, 'beta' | 'loss' | 'labelSmoothing'>,
  padId: number,
  vocabSize: number,
): DPOShard[] {
  return splitEvenly(items, shardCount()).map((part) => {
    return {
      pairs: [...part.map((p) => p.chosen), ...part.map((p) => p.rejected)],
      padId,
      vocabSize,
      refChosen: part.map((p) => p.refChosen),
      refRejected: part.map((p) => p.refRejected),
      beta: cfg.beta,
      loss: cfg.loss,
      labelSmoothing: cfg.labelSmoothing,
      weight: part.length / items.length,
    };
  });
}

/** The batch's loss and metrics: the shards' means, weighted. */
export function combineShards(res: DPOStepResult[], sh: DPOShard[]): { loss: number; metrics: Record<string, number> } {
  const metrics: Record<string, number> = {};
  let loss = 0;
  res.forEach((r, k) => {
    loss += r.loss * sh[k].weight;
    for (const [key, v] of Object.entries(r.metrics)) metrics[key] = (metrics[key] ?? 0) + v * sh[k].weight;
  });
  return { loss, metrics };
}

export interface DPOResult extends LoopSummary {
  trainPairs: number;
  evalPairs: number;
  eval: Record<string, number>;
}

export function trainDPO(
  policy: CausalLM,
  tok: Tokenizer,
  train: Comparison[],
  evalSet: Comparison[],
  cfg: DPOConfig,
  log: (m: string) => void,
): DPOResult {
  dpoOptions.validate(cfg);
  applyLora(policy, cfg, log);
  if (cfg.resume && !resumeLora(policy, cfg.outDir)) log(`dpo: no LoRA run to resume in ${cfg.outDir}; starting one`);
  const data = encodeDPOPairs(policy, tok, train, cfg);
  const evalData = evalSet.length ? encodeDPOPairs(policy, tok, evalSet, cfg) : [];
  if (data.length === 0) throw new Error('no training pairs');
  const n = data.length;
  const steps = cfg.steps || Math.max(1, Math.ceil((cfg.epochs * n) / cfg.batchSize));
  log(
    `dpo: ${n} training pairs, ${evalData.length} eval; ${steps} steps of ${cfg.batchSize} pairs; β = ` +
      `${cfg.beta}, loss ${cfg.loss}`,
  );
  const order = new EpochOrder(n, cfg.seed);
  const at = (k: number) => data[order.at(k)];
  policy.gradientCheckpointing = cfg.gradientCheckpointing;
  const replica = { models: { policy }, heads: {} };
  const evaluate = () => {
    const out: Record<string, number> = {};
    for (let i = 0; i < evalData.length; i += 64) {
      const chunk = evalData.slice(i, i + 64);
      const sh = dpoShards(chunk, cfg, tok.eosId, tok.vocabSize);
      const { loss, metrics } = combineShards(
        sh.map((s) => dpoStep(replica, s, false)),
        sh,
      );
      const w = chunk.length / evalData.length;
      out['eval/loss'] = (out['eval/loss'] ?? 0) + loss * w;
      for (const [k, v] of Object.entries(metrics)) out[`eval/${k}`] = (out[`eval/${k}`] ?? 0) + v * w;
    }
    return out;
  };
  const summary = runTraining(
    {
      params: trainableParams(policy),
      step(_rng, step) {
        const items = Array.from({ length: cfg.batchSize }, (_, j) => at(step * cfg.batchSize + j));
        const sh = dpoShards(items, cfg, tok.eosId, tok.vocabSize);
        const { loss, metrics } = combineShards(runSharded(replica, kernels.dpoStep, sh), sh);
        return {
          loss,
          tokens: sh.reduce((a, s) => a + s.pairs.reduce((x, p) => x + p.prompt.length + p.completion.length, 0), 0),
          metrics,
        };
      },
      evaluate: evalData.length ? evaluate : undefined,
      save: (dir) => savePolicy(dir, policy, tok, { trainer: 'dpo', beta: cfg.beta, loss: cfg.loss }, cfg.chatTemplate),
    },
    { ...cfg, steps },
    { outDir: cfg.outDir, resume: cfg.resume, stopAfter: cfg.stopAfter, label: 'dpo', quiet: cfg.quiet },
  );
  const result: DPOResult = { ...summary, trainPairs: n, evalPairs: evalData.length, eval: summary.lastEval };
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
