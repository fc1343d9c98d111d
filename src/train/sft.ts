// Supervised training: pretraining on plain text, or fine-tuning on prompt/completion pairs with
// the loss on completion tokens only.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Graph } from '../engine/graph.js';
import { RNG } from '../engine/rng.js';
import { readSFTData } from '../data/text.js';
import { isEvalKey } from '../data/split.js';
import { IGNORE_INDEX } from '../engine/ops/loss.js';
import { hasTrainingState, loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { countParameters, presetConfig } from '../model/config.js';
import { GPT } from '../model/gpt.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { kernels, shardLM } from './kernels.js';
import { LoopSummary, TrainTask, runTraining } from './loop.js';
import { runSharded, shardCount } from '../runtime/replica.js';
import { SFTConfig, validateSFTConfig } from './sft-config.js';

/** A batch of B sequences of length T: inputs and next-token targets (-100 = no loss). */
export interface LMBatch {
  ids: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  /** Tokens that carry loss. */
  tokens: number;
  /** Per-token loss weights (B·T), when examples carry weights. */
  weights?: Float32Array;
}

/** Source of batches for language-model training. */
export interface LMSource {
  /** The batch of a training step (the same step always gives the same batch, so resuming is exact). */
  sample(rng: RNG, B: number, step: number): LMBatch;
  /** Fixed batches for evaluation. */
  fixed(B: number, n: number): LMBatch[];
  size: number;
}

// ---- plain text: random windows of one token stream ----

export function streamSource(stream: Int32Array, T: number): LMSource {
  const len = Math.min(T, stream.length - 1);
  if (len < 1) throw new Error('the text is too short to train on: it needs at least 2 tokens');
  const window = (start: number, b: number, batch: LMBatch) => {
    for (let t = 0; t < len; t++) {
      batch.ids[b * len + t] = stream[start + t];
      batch.targets[b * len + t] = stream[start + t + 1];
    }
  };
  const empty = (B: number): LMBatch => ({
    ids: new Int32Array(B * len),
    targets: new Int32Array(B * len),
    B,
    T: len,
    tokens: B * len,
  });
  return {
    size: stream.length,
    sample(rng, B, _step) {
      const batch = empty(B);
      for (let b = 0; b < B; b++) window(rng.int(stream.length - len), b, batch);
      return batch;
    },
    fixed(B, n) {
      const out: LMBatch[] = [];
      const span = stream.length - len;
      for (let k = 0; k < n; k++) {
        const batch = empty(B);
        for (let b = 0; b < B; b++) window(Math.floor(((k * B + b) * span) / Math.max(1, n * B)), b, batch);
        out.push(batch);
      }
      return out;
    },
  };
}

// ---- prompt/completion: padded batches with the loss on the completion ----

export interface TokenizedExample {
  prompt: number[];
  completion: number[];
  /** Weight of this example's loss (reward-weighted fine-tuning); 1 when absent. */
  weight?: number;
}

/** prompt+completion cut to T+1 tokens: the prompt loses tokens from its start first. */
export function packExample(ex: TokenizedExample, T: number): { seq: number[]; promptLen: number } {
  let prompt = ex.prompt,
    completion = ex.completion;
  if (completion.length > T + 1 - 1) completion = completion.slice(0, T); // keep ≥ 1 prompt token
  if (prompt.length + completion.length > T + 1) prompt = prompt.slice(prompt.length - (T + 1 - completion.length));
  return { seq: [...prompt, ...completion], promptLen: prompt.length };
}

export function pairSource(examples: TokenizedExample[], T: number, padId: number, seed = 0): LMSource {
  if (examples.length === 0) throw new Error('no examples to train on');
  const packed = examples.map((e) => packExample(e, T));
  const weighted = examples.some((e) => e.weight !== undefined);
  const build = (idx: number[]): LMBatch => {
    // Padded to a multiple of 4 positions (within T), so attention takes the SIMD kernels.
    const longest = Math.max(...idx.map((i) => packed[i].seq.length - 1), 1);
    const Tb = Math.min(T, (longest + 3) & ~3);
    const B = idx.length;
    const ids = new Int32Array(B * Tb).fill(padId);
    const targets = new Int32Array(B * Tb).fill(IGNORE_INDEX);
    const weights = weighted ? new Float32Array(B * Tb) : undefined;
    let tokens = 0;
    idx.forEach((i, b) => {
      const { seq, promptLen } = packed[i];
      for (let t = 0; t + 1 < seq.length; t++) {
        ids[b * Tb + t] = seq[t];
        // position t predicts seq[t+1]; only completion tokens carry loss
        if (t + 1 >= promptLen) {
          targets[b * Tb + t] = seq[t + 1];
          if (weights) weights[b * Tb + t] = examples[i].weight ?? 1;
          tokens++;
        }
      }
    });
    return { ids, targets, B, T: Tb, tokens, weights };
  };
  // Epoch e visits the examples in a shuffled order derived from (seed, e) alone: a step's batch
  // depends only on the step number, not on what came before.
  const n = examples.length;
  let epoch = -1,
    order: number[] = [];
  const at = (k: number): number => {
    const e = Math.floor(k / n);
    if (e !== epoch) {
      epoch = e;
      order = new RNG((seed * 1000003 + e) >>> 0).shuffle(examples.map((_, i) => i));
    }
    return order[k % n];
  };
  return {
    size: n,
    sample(_rng, B, step) {
      return build(Array.from({ length: B }, (_, j) => at(step * B + j)));
    },
    fixed(B, n) {
      const out: LMBatch[] = [];
      for (let k = 0; k < n && k * B < examples.length; k++) {
        out.push(build(examples.slice(k * B, (k + 1) * B).map((_, j) => k * B + j)));
      }
      return out;
    },
  };
}

/** Mean loss of a model over fixed batches (no gradients). */
export function evalLoss(model: GPT, batches: LMBatch[]): number {
  let total = 0,
    count = 0;
  for (const b of batches) {
    const g = Graph.inference();
    total += model.loss(g, b.ids, b.targets, b.B, b.T).item() * b.tokens;
    count += b.tokens;
    g.dispose();
  }
  return count > 0 ? total / count : NaN;
}

export interface SFTResult extends LoopSummary {
  parameters: number;
  trainSize: number;
  evalSize: number;
  skippedRecords: number;
}

export function trainSFT(
  cfg: SFTConfig,
  log: (msg: string) => void = (m) => process.stderr.write(m + '\n'),
): SFTResult {
  validateSFTConfig(cfg);
  const data = readSFTData(cfg.data);
  for (const issue of data.issues.slice(0, 10))
    log(`skipped ${issue.file}:${issue.line}: ${issue.field ? `field "${issue.field}": ` : ''}${issue.message}`);
  if (data.issues.length > 10) log(`… and ${data.issues.length - 10} more unreadable records`);
  if (data.issues.length)
    log(`${cfg.data}: ${data.issues.length} of ${data.lines} records could not be read and were skipped`);

  const texts = data.kind === 'text' ? data.documents : data.examples.map((e) => e.prompt + e.completion);
  // The model and its tokenizer: from a checkpoint (to continue or fine-tune), or new.
  let model: GPT, tokenizer: Tokenizer;
  const resumeDir = cfg.resume ? cfg.outDir : undefined;
  const from = resumeDir && hasTrainingState(resumeDir) ? resumeDir : cfg.init;
  if (from) {
    const ck = loadCheckpoint(from);
    if (!ck.tokenizer && !cfg.tokenizer)
      throw new Error(`${from}: the checkpoint has no tokenizer.json; give --tokenizer`);
    model = ck.model;
    tokenizer = cfg.tokenizer ? Tokenizer.load(cfg.tokenizer) : ck.tokenizer!;
  } else {
    if (cfg.tokenizer) tokenizer = Tokenizer.load(cfg.tokenizer);
    else {
      log(`training a ${cfg.vocabSize}-token BPE tokenizer on ${cfg.data}`);
      tokenizer = Tokenizer.train(texts, { vocabSize: cfg.vocabSize });
    }
    // NOTE: the embedding is padded to a multiple of 64 rows (as nanoGPT does for GPT-2's 50257):
    // whole SIMD vectors and BLAS panels; the extra ids are never targets, and sampling skips them.
    model = new GPT(
      presetConfig(cfg.preset, {
        vocabSize: Math.ceil(tokenizer.vocabSize / 64) * 64,
        eosTokenId: tokenizer.eosId,
        nPositions: Math.max(cfg.contextLength, presetConfig(cfg.preset).nPositions),
      }),
      cfg.seed,
    );
  }
  if (cfg.contextLength > model.config.nPositions) {
    throw new Error(
      `contextLength ${cfg.contextLength} exceeds the model's context of ${model.config.nPositions} tokens; lower --context`,
    );
  }
  const eos = tokenizer.eosId;
  let train: LMSource,
    evalSet: LMSource | null = null;
  if (data.kind === 'text') {
    const docs = data.documents.map((d) => tokenizer.encode(d));
    const join = (ds: number[][]) => Int32Array.from(ds.flatMap((d) => [...d, eos]));
    if (docs.length > 1) {
      const ev = data.documents.map((d) => isEvalKey(d, cfg.evalFraction));
      const tr = docs.filter((_, i) => !ev[i]),
        es = docs.filter((_, i) => ev[i]);
      train = streamSource(join(tr), cfg.contextLength);
      if (es.length) evalSet = streamSource(join(es), cfg.contextLength);
    } else {
      const stream = join(docs);
      const cut = Math.floor(stream.length * (1 - cfg.evalFraction));
      train = streamSource(stream.subarray(0, cut), cfg.contextLength);
      if (cfg.evalFraction > 0 && stream.length - cut > 2)
        evalSet = streamSource(stream.subarray(cut), cfg.contextLength);
    }
  } else {
    const tok = data.examples.map((e) => ({
      key: e.prompt,
      ex: { prompt: tokenizer.encode(e.prompt), completion: [...tokenizer.encode(e.completion), eos] },
    }));
    const tr = tok.filter((t) => !isEvalKey(t.key, cfg.evalFraction)).map((t) => t.ex);
    const es = tok.filter((t) => isEvalKey(t.key, cfg.evalFraction)).map((t) => t.ex);
    train = pairSource(tr.length ? tr : es, cfg.contextLength, eos, cfg.seed);
    if (es.length && tr.length) evalSet = pairSource(es, cfg.contextLength, eos, cfg.seed);
  }
  const evalBatches = evalSet ? evalSet.fixed(cfg.batchSize, cfg.evalBatches) : [];
  log(
    `model: ${countParameters(model.config).toLocaleString('en-US')} parameters (${model.config.nLayer} layers, d ${model.config.nEmbd}, vocab ${model.config.vocabSize}); ${data.kind === 'text' ? 'pretraining' : 'fine-tuning'} on ${train.size} ${data.kind === 'text' ? 'tokens' : 'examples'}${evalSet ? `, evaluating on ${evalSet.size}` : ''}`,
  );

  const replica = { models: { policy: model }, heads: {} };
  const task: TrainTask = {
    params: model.params,
    step(rng, step) {
      const b = train.sample(rng, cfg.batchSize, step);
      const shards = shardLM(b.ids, b.targets, b.B, b.T, shardCount());
      const losses = runSharded(replica, kernels.lmStep, shards);
      // The batch loss is the token-weighted mean of the shards' mean losses.
      const loss = losses.reduce((acc, l, k) => acc + l * shards[k].weight, 0);
      return { loss, tokens: b.B * b.T };
    },
    evaluate: evalBatches.length ? () => ({ 'eval/loss': evalLoss(model, evalBatches) }) : undefined,
    save(dir) {
      saveCheckpoint(dir, model, { tokenizer, meta: { kind: 'policy', trainer: 'sft', data: cfg.data } });
    },
  };
  const summary = runTraining(task, cfg, {
    outDir: cfg.outDir,
    resume: cfg.resume,
    label: 'sft',
    quiet: cfg.quiet,
    stopAfter: cfg.stopAfter,
  });
  const result: SFTResult = {
    ...summary,
    parameters: countParameters(model.config),
    trainSize: train.size,
    evalSize: evalSet?.size ?? 0,
    skippedRecords: data.issues.length,
  };
  writeFileSync(join(cfg.outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
