// Configuration of supervised training (pretraining on text, or fine-tuning on prompt/completion).

import { OptimConfig, validateOptimConfig } from './loop.js';

export interface SFTConfig extends OptimConfig {
  /** Training data: .txt, or .jsonl of {"text"} or {"prompt","completion"}. */
  data: string;
  /** Output checkpoint directory. */
  outDir: string;
  /** Start from this checkpoint directory (weights and tokenizer) instead of a new model. */
  init?: string;
  /** Model size for a new model (see PRESETS). */
  preset: string;
  /** Tokenizer file or directory; without one (and without init), a BPE tokenizer is trained on the data. */
  tokenizer?: string;
  /** Vocabulary size of a newly trained tokenizer. */
  vocabSize: number;
  /** Training sequence length in tokens (≤ the model's context). */
  contextLength: number;
  /** Sequences per step. */
  batchSize: number;
  /** Fraction of the data held out for evaluation (by prompt hash, or the end of a single text). */
  evalFraction: number;
  /** Batches in each evaluation. */
  evalBatches: number;
  resume: boolean;
  quiet: boolean;
  /** Stop (saving a resumable checkpoint) after this many steps of the schedule. */
  stopAfter?: number;
}

export const defaultSFTConfig: Omit<SFTConfig, 'data' | 'outDir'> = {
  preset: 'small',
  vocabSize: 512,
  contextLength: 128,
  batchSize: 16,
  steps: 300,
  lr: 3e-3,
  warmupSteps: 20,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1.0,
  evalEvery: 50,
  saveEvery: 0,
  evalFraction: 0.05,
  evalBatches: 4,
  seed: 0,
  resume: false,
  quiet: false,
};

export function validateSFTConfig(c: SFTConfig): void {
  validateOptimConfig(c);
  if (!Number.isInteger(c.batchSize) || c.batchSize <= 0)
    throw new Error(`batchSize must be a positive integer, got ${c.batchSize}`);
  if (!Number.isInteger(c.contextLength) || c.contextLength < 2)
    throw new Error(`contextLength must be an integer ≥ 2, got ${c.contextLength}`);
  if (!Number.isInteger(c.vocabSize) || c.vocabSize < 258)
    throw new Error(`vocabSize must be an integer ≥ 258 (256 bytes + end-of-text + 1 merge), got ${c.vocabSize}`);
  if (!(c.evalFraction >= 0 && c.evalFraction < 1))
    throw new Error(`evalFraction must be in [0, 1), got ${c.evalFraction}`);
}
