// The options every trainer on the shared loop (loop.ts) takes, declared once: steps, batch size,
// the AdamW optimizer and its schedule, evaluation, checkpoints, seed, gradient checkpointing, and
// where its metrics go besides metrics.jsonl (TensorBoard). Each
// trainer merges this group into its own declaration with its own defaults (withDefaults) and help
// (reviseOptions); loop.ts's OptimConfig is the part of its values the loop reads.

import { type ValuesOf, defineOptions, mergeOptions, reviseOptions } from './options.js';

export const optimOptions = defineOptions({
  steps: { type: 'int', flag: '--steps', help: 'optimizer steps', default: 300, min: 1 },
  batchSize: { type: 'int', flag: '--batch-size', help: 'examples per optimizer step', default: 16, min: 1 },
  lr: {
    type: 'number',
    flag: '--lr',
    help: 'peak learning rate (linear warm-up, then cosine decay to lr/10)',
    default: 1e-4,
    above: 0,
  },
  warmupSteps: { type: 'int', flag: '--warmup', help: 'linear warm-up steps', default: 0, min: 0 },
  weightDecay: {
    type: 'number',
    flag: '--weight-decay',
    help: 'AdamW decoupled weight decay (matrices only)',
    default: 0.1,
    min: 0,
  },
  beta1: {
    type: 'number',
    flag: '--adam-beta1',
    help: "AdamW's β₁, the decay of the gradient's running mean",
    default: 0.9,
    min: 0,
    below: 1,
  },
  beta2: {
    type: 'number',
    flag: '--adam-beta2',
    help: "AdamW's β₂, the decay of the squared gradient's running mean",
    default: 0.95,
    min: 0,
    below: 1,
  },
  gradClip: {
    type: 'number',
    flag: '--grad-clip',
    help: 'clip the global gradient norm (0 = off)',
    default: 1,
    min: 0,
  },
  evalEvery: {
    type: 'int',
    flag: '--eval-every',
    help: 'evaluate every n steps (0 = at the end only)',
    default: 50,
    min: 0,
  },
  saveEvery: {
    type: 'int',
    flag: '--save-every',
    help: 'save a checkpoint with the optimizer state every n steps (0 = at the end only)',
    default: 0,
    min: 0,
  },
  seed: { type: 'int', flag: '--seed', help: 'random seed: the same seed gives the same run', default: 0, min: 0 },
  resume: {
    type: 'boolean',
    flag: '--resume',
    help: 'continue from the checkpoint and optimizer state in --out',
    default: false,
  },
  quiet: { type: 'boolean', flag: '--quiet', help: 'no progress output', default: false },
  tensorboard: {
    type: 'string',
    flag: '--tensorboard',
    arg: '<dir>',
    help:
      'also write each metrics.jsonl line as TensorBoard scalars into an event file in this directory, live ' +
      '(`tensorboard --logdir` it or its parent; a resumed run continues the same curves; "" = off)',
    default: '',
  },
  gradientCheckpointing: {
    type: 'boolean',
    flag: '--gradient-checkpointing',
    help:
      "recompute each transformer block's activations in backward instead of keeping them: less memory, " +
      'for one more forward pass of time per step',
    default: false,
  },
});

export type OptimOptions = ValuesOf<typeof optimOptions.spec>;

/**
 * The group for trainers that count passes over their data: `--steps 0` (their default) lets
 * `--epochs` set the number of steps. `data` names what one pass covers ("the training pairs").
 */
export function epochOptimOptions(data: string) {
  return mergeOptions(
    reviseOptions(optimOptions, {
      steps: { help: `optimizer steps (0 = as many as --epochs passes over ${data} take)`, default: 0, min: 0 },
    }),
    defineOptions({
      epochs: {
        type: 'number',
        flag: '--epochs',
        help: `passes over ${data} (when --steps is 0)`,
        default: 1,
        above: 0,
      },
      evalFraction: {
        type: 'number',
        flag: '--eval-fraction',
        help: 'held out by prompt hash when no --eval is given',
        default: 0.1,
        min: 0,
        below: 1,
      },
    }),
  );
}
