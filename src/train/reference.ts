// The frozen reference policy π_ref of trainers that pull toward their starting point while they train
// (KTO's mismatched pairs, online DPO's fresh samples: neither can be scored once before training). With
// LoRA it is the policy with its adapters off, no copy; else a frozen copy of the starting policy, taken
// before a resumed run puts its trained weights back.

import { saveChatTemplate } from '../model/chat-template-file.js';
import type { ChatTemplate } from '../model/chat-template.js';
import { hasTrainingState, loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import { freezeModel, loraOf, withAdaptersDisabled } from '../model/lora.js';
import type { TokenPair } from '../model/logprobs.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import { completionLogProbs } from '../runtime/logprobs.js';
import { resumeLora } from './lora-options.js';

export interface ReferencePolicy {
  /** Per-token log-probs of each completion under π_ref (no gradients), over the tokenizer's vocabulary. */
  logProbs(pairs: TokenPair[]): number[][];
}

/** π_ref of `policy` as it is now: call after the LoRA adapters are attached and before any training. */
export function frozenReference(policy: CausalLM, tok: Tokenizer): ReferencePolicy {
  const opts = { vocabSize: tok.vocabSize };
  if (loraOf(policy))
    return {
      logProbs: (pairs) => withAdaptersDisabled(policy, () => completionLogProbs(policy, pairs, tok.eosId, opts)),
    };
  const ref = policy.clone();
  freezeModel(ref);
  return { logProbs: (pairs) => completionLogProbs(ref, pairs, tok.eosId, opts) };
}

/**
 * A reference a trainer already holds as a ReferencePolicy: `model` itself (a frozen copy), or with
 * `baseOnly` the model with its LoRA adapters off.
 */
export function referenceOf(model: CausalLM, tok: Tokenizer, baseOnly: boolean): ReferencePolicy {
  const opts = { vocabSize: tok.vocabSize };
  const lp = (pairs: TokenPair[]) => completionLogProbs(model, pairs, tok.eosId, opts);
  return { logProbs: (pairs) => (baseOnly ? withAdaptersDisabled(model, () => lp(pairs)) : lp(pairs)) };
}

/** Per-token log-probs of each completion under the policy as it is now (no gradients). */
export function policyLogProbs(policy: CausalLM, tok: Tokenizer, pairs: TokenPair[]): number[][] {
  return completionLogProbs(policy, pairs, tok.eosId, { vocabSize: tok.vocabSize });
}

/** Each row's sum. */
export const sums = (rows: number[][]): number[] => rows.map((r) => r.reduce((a, b) => a + b, 0));

/**
 * Resuming: puts the run saved in outDir back into `policy` (the starting policy, from --init): its LoRA
 * adapters, or its whole weights. Returns false when outDir holds no run to resume.
 */
export function resumePolicy(policy: CausalLM, outDir: string): boolean {
  if (loraOf(policy)) return resumeLora(policy, outDir);
  if (!hasTrainingState(outDir)) return false;
  const saved = loadCheckpoint(outDir).model;
  if (saved.params.length !== policy.params.length || saved.params.some((p, i) => p.size !== policy.params[i].size))
    throw new Error(
      `${outDir}: the saved policy does not match the starting policy (--init); resume with the same --init`,
    );
  policy.copyFrom(saved);
  return true;
}

/**
 * Saves the trained policy in dir as resumePolicy reads it back (its LoRA adapters, or its whole weights),
 * with the tokenizer, `meta` (the trainer and its settings) and the chat template it was trained with.
 */
export function savePolicy(
  dir: string,
  policy: CausalLM,
  tok: Tokenizer,
  meta: Record<string, unknown>,
  template: ChatTemplate | null | undefined,
): void {
  saveCheckpoint(dir, policy, { tokenizer: tok, meta: { kind: 'policy', ...meta } });
  if (template) saveChatTemplate(dir, template);
}
