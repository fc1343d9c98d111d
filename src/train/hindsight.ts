// Chain of Hindsight (Liu et al., 2023): turn comparisons into text the policy can learn from,
// including the outputs people disliked. Each comparison becomes one sequence
//
//   <prompt> A good answer: <better> A worse answer: <worse><|endoftext|>
//
// with the order of the two parts and the phrasing of each drawn at random (seeded), and the loss
// on the outputs only (the two completions and the final end-of-text), never on the prompt, the
// phrases or written feedback. At generation time the policy is prompted with the positive phrase.
//
// Conventions (see the README's `rlhf train hindsight`):
// - A ranking of K uses its best and its worst completion; the ones ranked between are not used.
// - Written `feedback` goes, as `<separator>Feedback: <text>`, right before the negative phrase, so
//   the phrase is always what immediately precedes an output (as at generation time).
// - Not done (the paper's extras): mixing in plain language-model loss, and randomly masking past
//   tokens so the model cannot copy.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EpochOrder } from '../data/batching.js';
import { Comparison } from '../data/comparison.js';
import { type LMBatch, type LMSource, batchLength } from '../data/lm-batches.js';
import { hashString } from '../data/split.js';
import { IGNORE_INDEX } from '../engine/ops/loss.js';
import { RNG } from '../engine/rng.js';
import { saveCheckpoint } from '../model/checkpoint.js';
import { trainableParams } from '../model/lora.js';
import { applyLora, resumeLora } from './lora-options.js';
import type { CausalLM } from '../model/causal-lm.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { encodePrompt } from '../model/prompt.js';
import { runSharded, shardCount } from '../runtime/replica.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { kernels, shardLM } from './kernels.js';
import { type HindsightConfig, type HindsightTemplates, hindsightOptions } from './hindsight-config.js';
import { LoopSummary, runTraining } from './loop.js';
import { evalLoss } from './lm-eval.js';

export {
  type HindsightConfig,
  type HindsightOptions,
  type HindsightTemplates,
  defaultHindsightConfig,
  defaultHindsightTemplates,
  validateHindsightTemplates,
} from './hindsight-config.js';

/** What to append to a prompt at generation time: the separator and the first positive phrase. */
export function hindsightSuffix(t: Pick<HindsightTemplates, 'positive' | 'separator'>): string {
  return t.separator + t.positive[0];
}

/** The prompt to generate a good output with: the prompt, then the first positive phrase. */
export function hindsightPrompt(prompt: string, t: Pick<HindsightTemplates, 'positive' | 'separator'>): string {
  return prompt + hindsightSuffix(t);
}

/** The random choices of one sequence. */
export interface HindsightChoice {
  /** The better output comes first. */
  betterFirst: boolean;
  /** Indices into the positive and negative phrases. */
  positive: number;
  negative: number;
}

/**
 * The choices for example `index` in epoch `epoch`: a function of (seed, epoch, index) alone, not of
 * any state that advances, so a step's batch is the same whether the run was resumed or not.
 */
export function hindsightChoice(
  seed: number,
  epoch: number,
  index: number,
  t: HindsightTemplates,
  betterFirstShare = 0.5,
): HindsightChoice {
  const rng = new RNG(hashString(`hindsight:${seed}:${epoch}:${index}`));
  return {
    betterFirst: rng.uniform() < betterFirstShare,
    positive: rng.int(t.positive.length),
    negative: rng.int(t.negative.length),
  };
}

/** A piece of a sequence's text: `output` pieces carry the loss. */
export interface HindsightSegment {
  text: string;
  output: boolean;
}

/** The best and the worst completion of a comparison (a pair is its own best and worst). */
export function bestAndWorst(c: Comparison): { better: string; worse: string } {
  return { better: c.completions[c.ranking[0]], worse: c.completions[c.ranking[c.ranking.length - 1]] };
}

/**
 * The text of a comparison's sequence, as alternating unscored and output segments (the final
 * end-of-text token is added when tokenizing). The prompt and the phrase after it are one segment,
 * so they tokenize exactly as hindsightPrompt's text does at generation time.
 */
export function hindsightSegments(c: Comparison, choice: HindsightChoice, t: HindsightTemplates): HindsightSegment[] {
  const { better, worse } = bestAndWorst(c);
  const feedback = c.feedback ? `${t.separator}${t.feedbackPrefix} ${c.feedback}` : '';
  const good = `${t.separator}${t.positive[choice.positive]}`;
  const bad = `${feedback}${t.separator}${t.negative[choice.negative]}`;
  const [p1, o1, p2, o2] = choice.betterFirst ? [good, better, bad, worse] : [bad, worse, good, better];
  return [
    { text: c.prompt + p1, output: false },
    { text: o1, output: true },
    { text: p2, output: false },
    { text: o2, output: true },
  ];
}

/** Token ids of a sequence and, for each, whether it is an output token (predicting it carries loss). */
export interface HindsightSequence {
  tokens: number[];
  output: boolean[];
}

/**
 * Tokenizes a comparison's sequence and cuts it to at most maxTokens (the context + 1): first the
 * prompt loses tokens from its start (the phrase after it stays), then, if still too long, the
 * sequence loses its end (the tail of the second output and the end-of-text).
 */
export function hindsightSequence(
  c: Comparison,
  choice: HindsightChoice,
  tok: Tokenizer,
  t: HindsightTemplates,
  maxTokens: number,
): HindsightSequence {
  const segs = hindsightSegments(c, choice, t);
  const tokens: number[] = [],
    output: boolean[] = [];
  for (const s of segs) {
    for (const id of tok.encode(s.text)) {
      tokens.push(id);
      output.push(s.output);
    }
  }
  tokens.push(tok.eosId);
  output.push(true);
  let excess = tokens.length - maxTokens;
  if (excess > 0) {
    const first = output.indexOf(true);
    const keep = tok.encode(segs[0].text.slice(c.prompt.length)).length; // the phrase (and feedback) after the prompt
    const cut = Math.min(excess, Math.max(0, first - keep));
    tokens.splice(0, cut);
    output.splice(0, cut);
    excess -= cut;
  }
  if (excess > 0) {
    tokens.length -= excess;
    output.length -= excess;
  }
  return { tokens, output };
}

/** A padded batch: position t predicts token t+1, with loss only where token t+1 is an output token. */
export function hindsightBatch(seqs: HindsightSequence[], T: number, padId: number): LMBatch {
  const Tb = batchLength(Math.max(...seqs.map((s) => s.tokens.length - 1)), T);
  const B = seqs.length;
  const ids = new Int32Array(B * Tb).fill(padId);
  const targets = new Int32Array(B * Tb).fill(IGNORE_INDEX);
  let tokens = 0;
  seqs.forEach((s, b) => {
    for (let t = 0; t + 1 < s.tokens.length && t < Tb; t++) {
      ids[b * Tb + t] = s.tokens[t];
      if (s.output[t + 1]) {
        targets[b * Tb + t] = s.tokens[t + 1];
        tokens++;
      }
    }
  });
  return { ids, targets, B, T: Tb, tokens };
}

/**
 * Batches of Chain-of-Hindsight sequences. Epoch e visits the comparisons in an order derived from
 * (seed, e), and each sequence's order and phrases from (seed, e, index): a step's batch depends
 * only on the step number, so resuming is exact.
 */
export function hindsightSource(
  comps: Comparison[],
  tok: Tokenizer,
  t: HindsightTemplates,
  T: number,
  seed: number,
  betterFirstShare = 0.5,
): LMSource {
  if (comps.length === 0) throw new Error('no comparisons to train on');
  const n = comps.length;
  const order = new EpochOrder(n, seed);
  const seqAt = (k: number): HindsightSequence => {
    const i = order.at(k);
    const choice = hindsightChoice(seed, Math.floor(k / n), i, t, betterFirstShare);
    return hindsightSequence(comps[i], choice, tok, t, T + 1);
  };
  return {
    size: n,
    sample(_rng, B, step) {
      return hindsightBatch(
        Array.from({ length: B }, (_, j) => seqAt(step * B + j)),
        T,
        tok.eosId,
      );
    },
    fixed(B, count) {
      // Evaluation: every comparison once, with its epoch-0 choices.
      const out: LMBatch[] = [];
      for (let k = 0; k < count && k * B < n; k++) {
        const idx = Array.from({ length: Math.min(B, n - k * B) }, (_, j) => k * B + j);
        out.push(
          hindsightBatch(
            idx.map((i) =>
              hindsightSequence(comps[i], hindsightChoice(seed, 0, i, t, betterFirstShare), tok, t, T + 1),
            ),
            T,
            tok.eosId,
          ),
        );
      }
      return out;
    },
  };
}

/**
 * Does the phrase steer the policy? For each comparison, r(y) = log π(y | prompt + first positive
 * phrase) − log π(y | prompt + first negative phrase) (y with its end-of-text); accuracy is how often
 * r(better) > r(worse), margin the mean of r(better) − r(worse).
 */
export function phraseAccuracy(
  policy: CausalLM,
  tok: Tokenizer,
  comps: Comparison[],
  t: HindsightTemplates,
): { accuracy: number; margin: number } {
  const ctx = policy.config.nPositions;
  const pair = (prefix: string, y: string) => {
    let c = [...tok.encode(y), tok.eosId];
    if (c.length > ctx) c = c.slice(0, ctx);
    return { prompt: encodePrompt(tok, prefix, ctx + 1 - c.length), completion: c };
  };
  const pos = (c: Comparison) => c.prompt + t.separator + t.positive[0];
  const neg = (c: Comparison) => c.prompt + t.separator + t.negative[0];
  const pairs = comps.flatMap((c) => {
    const { better, worse } = bestAndWorst(c);
    return [pair(pos(c), better), pair(neg(c), better), pair(pos(c), worse), pair(neg(c), worse)];
  });
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const lp = completionLogProbs(policy, pairs, tok.eosId, { vocabSize: tok.vocabSize }).map(sum);
  let right = 0,
    margin = 0;
  for (let i = 0; i < comps.length; i++) {
    const d = lp[4 * i] - lp[4 * i + 1] - (lp[4 * i + 2] - lp[4 * i + 3]);
    if (d > 0) right++;
    margin += d;
  }
  return { accuracy: right / Math.max(1, comps.length), margin: margin / Math.max(1, comps.length) };
}

export interface HindsightResult extends LoopSummary {
  trainComparisons: number;
  evalComparisons: number;
  eval: Record<string, number>;
  templates: HindsightTemplates;
  /** Append this to a prompt to generate with the positive phrase (hindsightSuffix). */
  promptSuffix: string;
}

export function trainHindsight(
  policy: CausalLM,
  tok: Tokenizer,
  train: Comparison[],
  evalSet: Comparison[],
  cfg: HindsightConfig,
  log: (m: string) => void,
): HindsightResult {
  hindsightOptions.validate(cfg);
  if (train.length === 0) throw new Error('no training comparisons');
  applyLora(policy, cfg, log);
  if (cfg.resume) resumeLora(policy, cfg.outDir);
  const templates: HindsightTemplates = {
    positive: cfg.positive,
    negative: cfg.negative,
    separator: cfg.separator,
    feedbackPrefix: cfg.feedbackPrefix,
  };
  const T = policy.config.nPositions;
  const source = hindsightSource(train, tok, templates, T, cfg.seed, cfg.betterFirstShare);
  const evalBatches = evalSet.length
    ? hindsightSource(evalSet, tok, templates, T, cfg.seed, cfg.betterFirstShare).fixed(cfg.batchSize, Infinity)
    : [];
  const steps = cfg.steps || Math.max(1, Math.ceil((cfg.epochs * train.length) / cfg.batchSize));
  const withFeedback = train.filter((c) => c.feedback).length;
  log(
    `hindsight: ${train.length} training comparisons (${withFeedback} with feedback), ${evalSet.length} eval; ` +
      `${steps} steps of ${cfg.batchSize}; phrases ${JSON.stringify(cfg.positive)} / ${JSON.stringify(cfg.negative)}`,
  );
  policy.gradientCheckpointing = cfg.gradientCheckpointing;
  const replica = { models: { policy }, heads: {} };
  const suffix = hindsightSuffix(templates);
  const summary = runTraining(
    {
      params: trainableParams(policy),
      step(rng, step) {
        const b = source.sample(rng, cfg.batchSize, step);
        const shards = shardLM(b.ids, b.targets, b.B, b.T, shardCount());
        const losses = runSharded(replica, kernels.lmStep, shards);
        // The batch loss is the token-weighted mean of the shards' mean losses.
        return { loss: losses.reduce((a, l, k) => a + l * shards[k].weight, 0), tokens: b.B * b.T };
      },
      evaluate: evalBatches.length
        ? () => {
            const p = phraseAccuracy(policy, tok, evalSet, templates);
            return {
              'eval/loss': evalLoss(policy, evalBatches),
              'eval/hindsight/accuracy': p.accuracy,
              'eval/hindsight/margin': p.margin,
            };
          }
        : undefined,
      // The templates go into config.json, so whoever samples from the checkpoint knows the phrase.
      save: (dir) =>
        saveCheckpoint(dir, policy, {
          tokenizer: tok,
          meta: { kind: 'policy', trainer: 'hindsight', hindsight: { ...templates, promptSuffix: suffix } },
        }),
    },
    { ...cfg, steps },
    { outDir: cfg.outDir, resume: cfg.resume, stopAfter: cfg.stopAfter, label: 'hindsight', quiet: cfg.quiet },
  );
  const result: HindsightResult = {
    ...summary,
    trainComparisons: train.length,
    evalComparisons: evalSet.length,
    eval: summary.lastEval,
    templates,
    promptSuffix: suffix,
  };
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
