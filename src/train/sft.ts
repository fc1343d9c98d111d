// Supervised training: pretraining on plain text, fine-tuning on prompt/completion pairs with the
// loss on completion tokens only, or on conversations with the loss on assistant turns only (rendered
// with the model's chat template, or the plain Human/Assistant layout without one).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LMSource, joinTokens, maskedSource, pairSource, streamSource } from '../data/lm-batches.js';
import { readSFTData, sftTexts } from '../data/text.js';
import { isEvalKey } from '../data/split.js';
import { hasTrainingState, loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import { countParameters, paddedVocabSize, presetConfig } from '../model/config.js';
import type { CausalLM } from '../model/causal-lm.js';
import { createModel } from '../model/create-model.js';
import { trainableParams } from '../model/lora.js';
import { encodePrompt } from '../model/prompt.js';
import { EOS_TOKEN, Tokenizer } from '../model/tokenizer/index.js';
import { kernels, shardLM } from './kernels.js';
import { evalLoss } from './lm-eval.js';
import { LoopSummary, TrainTask, runTraining } from './loop.js';
import { runSharded, shardCount } from '../runtime/replica.js';
import { SFTConfig, validateSFTConfig } from './sft-config.js';
import { applyLora, loraNeedsInit, resumeLora } from './lora-options.js';
import { conversationExamples, templateOrPlain } from './chat-data.js';
import { saveChatTemplate } from '../model/chat-template-file.js';

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

  const texts = sftTexts(data);
  // The model and its tokenizer: from a checkpoint (to continue or fine-tune), or new.
  let model: CausalLM, tokenizer: Tokenizer;
  // With LoRA the model is always --init's: a resumed run puts its adapters back on it.
  const lora = cfg.loraRank > 0;
  if (lora && !cfg.init) throw loraNeedsInit('--init');
  const resumeDir = cfg.resume && !lora ? cfg.outDir : undefined;
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
      // The chat template's markers ("<|im_end|>") become special tokens: one id each, as generation stops on.
      const specialTokens = [...new Set([EOS_TOKEN, ...(cfg.chatTemplate?.markers() ?? [])])];
      tokenizer = Tokenizer.train(texts, { vocabSize: cfg.vocabSize, specialTokens });
    }
    // NOTE: the embedding is padded to a multiple of 64 rows (as nanoGPT does for GPT-2's 50257):
    // whole SIMD vectors and BLAS panels; the extra ids are never targets, and sampling skips them.
    model = createModel(
      presetConfig(cfg.preset, {
        vocabSize: paddedVocabSize(tokenizer.vocabSize),
        eosTokenId: tokenizer.eosId,
        nPositions: Math.max(cfg.contextLength, presetConfig(cfg.preset).nPositions),
      }),
      cfg.seed,
    );
  }
  if (cfg.contextLength > model.config.nPositions) {
    throw new Error(
      `contextLength ${cfg.contextLength} exceeds the model's context of ${model.config.nPositions} tokens; ` +
        `lower --context`,
    );
  }
  const eos = tokenizer.eosId;
  let train: LMSource,
    evalSet: LMSource | null = null;
  if (data.kind === 'text') {
    const docs = data.documents.map((d) => tokenizer.encode(d));
    if (docs.length > 1) {
      const ev = data.documents.map((d) => isEvalKey(d, cfg.evalFraction));
      const tr = docs.filter((_, i) => !ev[i]),
        es = docs.filter((_, i) => ev[i]);
      train = streamSource(joinTokens(tr, eos), cfg.contextLength);
      if (es.length) evalSet = streamSource(joinTokens(es, eos), cfg.contextLength);
    } else {
      const stream = joinTokens(docs, eos);
      const cut = Math.floor(stream.length * (1 - cfg.evalFraction));
      train = streamSource(stream.subarray(0, cut), cfg.contextLength);
      if (cfg.evalFraction > 0 && stream.length - cut > 2)
        evalSet = streamSource(stream.subarray(cut), cfg.contextLength);
    }
  } else if (data.kind === 'conversation') {
    const template = templateOrPlain(cfg.chatTemplate, tokenizer);
    log(`conversations rendered with ${template.source}; loss on assistant turns`);
    const tok = conversationExamples(data.conversations, tokenizer, template, cfg.data);
    const tr = tok.filter((t) => !isEvalKey(t.key, cfg.evalFraction)).map((t) => t.ex);
    const es = tok.filter((t) => isEvalKey(t.key, cfg.evalFraction)).map((t) => t.ex);
    train = maskedSource(tr.length ? tr : es, cfg.contextLength, eos, cfg.seed);
    if (es.length && tr.length) evalSet = maskedSource(es, cfg.contextLength, eos, cfg.seed);
  } else {
    // An empty prompt starts from end-of-text, as sampling from it does (encodePrompt).
    const tok = data.examples.map((e) => ({
      key: e.prompt,
      ex: { prompt: encodePrompt(tokenizer, e.prompt), completion: [...tokenizer.encode(e.completion), eos] },
    }));
    const tr = tok.filter((t) => !isEvalKey(t.key, cfg.evalFraction)).map((t) => t.ex);
    const es = tok.filter((t) => isEvalKey(t.key, cfg.evalFraction)).map((t) => t.ex);
    train = pairSource(tr.length ? tr : es, cfg.contextLength, eos, cfg.seed);
    if (es.length && tr.length) evalSet = pairSource(es, cfg.contextLength, eos, cfg.seed);
  }
  const evalBatches = evalSet ? evalSet.fixed(cfg.batchSize, cfg.evalBatches) : [];
  log(
    `model: ${countParameters(model.config).toLocaleString('en-US')} parameters (${model.config.nLayer} layers, ` +
      `d ${model.config.nEmbd}, vocab ${model.config.vocabSize}); ` +
      `${data.kind === 'text' ? 'pretraining' : 'fine-tuning'} on ${train.size} ` +
      `${data.kind === 'text' ? 'tokens' : 'examples'}${evalSet ? `, evaluating on ${evalSet.size}` : ''}`,
  );

  applyLora(model, cfg, log);
  if (cfg.resume) resumeLora(model, cfg.outDir);
  model.gradientCheckpointing = cfg.gradientCheckpointing;
  const replica = { models: { policy: model }, heads: {} };
  const task: TrainTask = {
    params: trainableParams(model),
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
      if (cfg.chatTemplate) saveChatTemplate(dir, cfg.chatTemplate);
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
