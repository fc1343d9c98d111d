// Configuration of reward-model training from comparisons.

import { OptimConfig, validateOptimConfig } from './loop.js';

export interface RewardConfig extends OptimConfig {
  /** Output checkpoint directory. */
  outDir: string;
  /** Start from this checkpoint (a pretrained or SFT policy, or a reward model) instead of a new model. */
  init?: string;
  /** Model size for a new model (see PRESETS). */
  preset: string;
  /** Vocabulary of a newly trained tokenizer. */
  vocabSize: number;
  /** Longest scored sequence (prompt + completion + end-of-text); prompts are cut from the start. */
  contextLength: number;
  /** Comparisons per step (a K-ranking counts once and gives K(K−1)/2 pairs). */
  batchSize: number;
  /** Passes over the training comparisons; sets the step count when steps is 0. */
  epochs: number;
  /** Coefficient of the reward-centering term (TRL's center_rewards_coefficient). */
  centering: number;
  /** Use each record's margin (or its confidence as a margin) inside the sigmoid. */
  useMargin: boolean;
  /** Held out by prompt hash when no eval file is given. */
  evalFraction: number;
  /** Most eval comparisons scored at each evaluation (all at the end). */
  evalLimit: number;
  resume: boolean;
  quiet: boolean;
  stopAfter?: number;
}

export const defaultRewardConfig: Omit<RewardConfig, 'outDir'> = {
  preset: 'small',
  vocabSize: 1024,
  contextLength: 128,
  batchSize: 32,
  epochs: 1,
  steps: 0,
  lr: 1e-3,
  warmupSteps: 20,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  gradClip: 1.0,
  evalEvery: 100,
  saveEvery: 0,
  centering: 0,
  useMargin: false,
  evalFraction: 0.1,
  evalLimit: 512,
  seed: 0,
  resume: false,
  quiet: false,
};

export function validateRewardConfig(c: RewardConfig): void {
  validateOptimConfig({ ...c, steps: c.steps || 1 });
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1)
    throw new Error(`batchSize must be a positive integer, got ${c.batchSize}`);
  if (!(c.epochs > 0)) throw new Error(`epochs must be > 0, got ${c.epochs}`);
  if (!Number.isInteger(c.contextLength) || c.contextLength < 4)
    throw new Error(`contextLength must be an integer ≥ 4, got ${c.contextLength}`);
  if (!(c.centering >= 0)) throw new Error(`centering must be ≥ 0, got ${c.centering}`);
  if (!(c.evalFraction >= 0 && c.evalFraction < 1))
    throw new Error(`evalFraction must be in [0, 1), got ${c.evalFraction}`);
}
