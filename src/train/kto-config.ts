// KTO's options, declared once (src/train/options.ts): `rlhf train kto`'s flags, the trainer's
// validation and the tests' settings all come from here. Defaults are TRL's KTOConfig's where they
// suit small CPU runs (β, the weights, max_length, the loss type); the optimizer's are `train dpo`'s.

import { KTO_LOSS_TYPES } from '../objectives/kto.js';
import { loraOptions } from './lora-options.js';
import {
  type ReferenceRunSettings,
  referenceLossOptions,
  referenceOptimOptions,
  resumeFromInit,
} from './dpo-config.js';
import { type ValuesOf, defineOptions, mergeOptions, reviseOptions } from './options.js';

export const ktoOptions = mergeOptions(
  mergeOptions(
    mergeOptions(
      reviseOptions(referenceLossOptions, {
        maxLength: {
          help:
            "most tokens of prompt + completion (TRL's max_length; the prompt is cut from its start), at most " +
            "the model's context",
        },
      }),
      defineOptions({
        lossType: {
          type: 'choice',
          flag: '--loss-type',
          help:
            "kto (the KTO paper's loss, with the batch's KL estimate as reference point) or apo_zero_unpaired " +
            '(APO-zero: desirable completions up, undesirable down, no reference point)',
          choices: KTO_LOSS_TYPES,
          default: 'kto',
        },
        desirableWeight: {
          type: 'number',
          flag: '--desirable-weight',
          help: "λ_D: weight of each desirable (label true) row's loss, to balance unequal counts",
          default: 1,
          min: 0,
        },
        undesirableWeight: {
          type: 'number',
          flag: '--undesirable-weight',
          help: "λ_U: weight of each undesirable (label false) row's loss",
          default: 1,
          min: 0,
        },
      }),
    ),
    reviseOptions(referenceOptimOptions('the training rows'), {
      batchSize: {
        help: "rows per step (kto needs ≥ 2: its KL estimate pairs each row's prompt with another row's completion)",
        default: 8,
      },
      resume: resumeFromInit,
    }),
  ),
  loraOptions,
  [
    (c) =>
      c.lossType === 'kto' && c.batchSize < 2
        ? `batchSize (--batch-size) must be at least 2 with the kto loss, got ${c.batchSize}: the KL reference ` +
          "point is estimated from each row's prompt with another row's completion of the same batch"
        : null,
    (c) =>
      c.desirableWeight === 0 && c.undesirableWeight === 0
        ? 'desirableWeight (--desirable-weight) and undesirableWeight (--undesirable-weight) are both 0: nothing ' +
          'would be learned; give one of them a positive weight'
        : null,
  ],
);

export type KTOOptions = ValuesOf<typeof ktoOptions.spec>;

export interface KTOConfig extends KTOOptions, ReferenceRunSettings {}

export const defaultKTOConfig: KTOOptions = ktoOptions.defaults();

/**
 * TRL's advice on the weights for unbalanced data (the KTO paper's eq. 8): λ_D·n_D / (λ_U·n_U) should lie
 * in [1, 4/3]. Returns the warning to give, or null when either weight is in its recommended range.
 */
export function weightAdvice(
  nDesirable: number,
  nUndesirable: number,
  c: Pick<KTOOptions, 'desirableWeight' | 'undesirableWeight'>,
): string | null {
  const d = Math.max(nDesirable, 1),
    u = Math.max(nUndesirable, 1);
  if (d === u) return null;
  const round = (x: number) => Math.round(x * 100) / 100;
  const dLo = round((u * c.undesirableWeight) / d),
    dHi = round(((u * c.undesirableWeight) / d) * 1.33);
  const uLo = round((d * c.desirableWeight) / u / 1.33),
    uHi = round((d * c.desirableWeight) / u);
  const dOk = dLo <= c.desirableWeight && c.desirableWeight <= dHi;
  const uOk = uLo <= c.undesirableWeight && c.undesirableWeight <= uHi;
  if (dOk || uOk) return null;
  return (
    `${nDesirable} desirable and ${nUndesirable} undesirable rows, with weights ${c.desirableWeight} and ` +
    `${c.undesirableWeight}: the KTO paper (eq. 8) recommends EITHER --desirable-weight in [${dLo}, ${dHi}] OR ` +
    `--undesirable-weight in [${uLo}, ${uHi}] (not both)`
  );
}
