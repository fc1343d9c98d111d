// RLOO's options, declared once (src/train/options.ts): `rlhf train rloo`'s flags, the trainer's validation
// and the demo's settings all come from here. The shared ones are in policy-gradient-config.ts; RLOO takes
// TRL's defaults for the group size (2) and β (0.05).

import { KL_PLACEMENTS, type KLPlacement } from '../objectives/rloo.js';
import { type ValuesOf, defineOptions, mergeOptions, reviseOptions } from './options.js';
import { policyGradientOptions } from './policy-gradient-config.js';

export const rlooOptions = mergeOptions(
  defineOptions({
    klIn: {
      type: 'choice',
      flag: '--kl-in',
      help:
        "reward (TRL's and the paper's: β·Σ_t (logp − logp_ref) at sampling is subtracted from each completion's " +
        'reward) or loss (β·Σ_t k3 of each completion is added to its loss, with gradients)',
      choices: KL_PLACEMENTS,
      default: 'reward' as KLPlacement,
    },
    normalizeAdvantages: {
      type: 'boolean',
      flag: '--normalize-advantages',
      help: 'whiten the advantages over the batch (mean 0, std 1)',
      default: false,
    },
  }),
  reviseOptions(policyGradientOptions, {
    numGenerations: { help: "k: completions sampled per prompt (each one's baseline is the others' mean)", default: 2 },
    beta: {
      help:
        'KL coefficient β to the reference (the starting policy), where --kl-in puts it; 0 keeps no reference ' +
        'and computes no KL',
      default: 0.05,
    },
  }),
);

export type RLOOOptions = ValuesOf<typeof rlooOptions.spec>;

export interface RLOOConfig extends RLOOOptions {
  outDir: string;
  /** Stop (saving a resumable checkpoint) after this many steps of the run, to be resumed. */
  stopAfter?: number;
}

export const defaultRLOOConfig: RLOOOptions = rlooOptions.defaults();
