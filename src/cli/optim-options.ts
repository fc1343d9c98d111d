// The options every `rlhf train …` subcommand shares. NOTE: apart from train.ts, which registers the
// subcommands, so that they do not import it back.

import type { Command } from 'commander';
import { floatArg, intArg } from './args.js';

/** Options shared by every trainer: the optimizer, schedule, evaluation and checkpoints. */
export function addOptimOptions(
  cmd: Command,
  d: { steps: number; lr: number; warmupSteps: number; batchSize: number },
): Command {
  return cmd
    .option('--steps <n>', 'optimizer steps', intArg(1), d.steps)
    .option('--batch-size <n>', 'sequences per step', intArg(1), d.batchSize)
    .option('--lr <x>', 'peak learning rate (linear warm-up, then cosine decay to lr/10)', floatArg(0), d.lr)
    .option('--warmup <n>', 'warm-up steps', intArg(0), d.warmupSteps)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay (matrices only)', floatArg(0), 0.1)
    .option('--grad-clip <x>', 'clip the global gradient norm (0 = off)', floatArg(0), 1.0)
    .option('--eval-every <n>', 'evaluate every n steps (0 = at the end only)', intArg(0), 50)
    .option('--save-every <n>', 'save a checkpoint every n steps (0 = at the end only)', intArg(0), 0)
    .option('--seed <n>', 'random seed: the same seed gives the same run', intArg(0), 0)
    .option('--resume', 'continue from the checkpoint and optimizer state in --out', false)
    .option('--quiet', 'no progress output', false);
}
