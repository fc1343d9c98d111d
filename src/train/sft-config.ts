// Options of supervised training (pretraining on text, or fine-tuning on prompt/completion),
// declared once (src/train/options.ts): `rlhf train sft`'s flags, the trainer's validation and the
// demo's pretraining and SFT settings all come from here.

import { loraOptions } from './lora-options.js';
import type { ChatTemplate } from '../model/chat-template.js';
import { optimOptions } from './optim-options.js';
import { newModelOptions } from './model-options.js';
import { type ValuesOf, defineOptions, mergeOptions, reviseOptions } from './options.js';

export const sftOptions = mergeOptions(
  mergeOptions(
    mergeOptions(
      newModelOptions,
      defineOptions({
        contextLength: {
          type: 'int',
          flag: '--context',
          help: "training sequence length in tokens (≤ the model's context)",
          default: 128,
          min: 2,
        },
        evalFraction: {
          type: 'number',
          flag: '--eval-fraction',
          help: 'fraction held out for evaluation (by prompt hash, or the end of a single text)',
          default: 0.05,
          min: 0,
          below: 1,
        },
        evalBatches: { type: 'int', flag: '--eval-batches', help: 'batches in each evaluation', default: 4, min: 1 },
      }),
    ),
    reviseOptions(optimOptions, {
      steps: { default: 300 },
      batchSize: { help: 'sequences per step', default: 16 },
      lr: { default: 3e-3 },
      warmupSteps: { default: 20 },
    }),
  ),
  loraOptions,
);

export type SFTOptions = ValuesOf<typeof sftOptions.spec>;

export interface SFTConfig extends SFTOptions {
  /** Training data: .txt, or .jsonl of {"text"} or {"prompt","completion"}. */
  data: string;
  /** Output checkpoint directory. */
  outDir: string;
  /** Start from this checkpoint directory (weights and tokenizer) instead of a new model. */
  init?: string;
  /** Tokenizer file or directory; without one (and without init), a BPE tokenizer is trained on the data. */
  tokenizer?: string;
  /** Stop (saving a resumable checkpoint) after this many steps of the schedule. */
  stopAfter?: number;
  /**
   * The model's chat template, for conversational data (saved with the checkpoint); without one,
   * conversations are rendered in the plain Human/Assistant layout.
   */
  chatTemplate?: ChatTemplate | null;
}

export const defaultSFTConfig: SFTOptions = sftOptions.defaults();

/** Checks every field and combination; the message names the field and its flag. */
export function validateSFTConfig(c: SFTConfig): void {
  sftOptions.validate(c);
}
