// Chain of Hindsight's options, declared once (src/train/options.ts): `rlhf train hindsight`'s flags,
// the trainer's validation and the demo's settings all come from here, templates included.

import { epochOptimOptions } from './optim-options.js';
import { type ValuesOf, defineOptions, mergeOptions, reviseOptions } from './options.js';
import { loraOptions } from './lora-options.js';

/** How feedback is written into a sequence. Stored in the checkpoint's config.json (`rlhf.hindsight`). */
export interface HindsightTemplates {
  /** Phrases that introduce the better output; one is drawn per sequence. The first is the one to generate with. */
  positive: string[];
  /** Phrases that introduce the worse output; one is drawn per sequence. */
  negative: string[];
  /** Put before every phrase and before the feedback: joins it to the prompt or the output before it. */
  separator: string;
  /** Introduces a comparison's written feedback: `<separator><feedbackPrefix> <feedback>`. */
  feedbackPrefix: string;
}

/** What is wrong with the templates (naming the field and its flag), or null. */
export function checkHindsightTemplates(t: HindsightTemplates): string | null {
  for (const side of ['positive', 'negative'] as const) {
    if (t[side].length === 0) return `${side} (--${side}): give at least one phrase`;
    const blank = t[side].findIndex((p) => p.trim() === '');
    if (blank >= 0)
      return `${side}[${blank}] (--${side}): a phrase must not be blank, got ${JSON.stringify(t[side][blank])}`;
  }
  // NOTE: a phrase on both sides would ask the model to write good and bad outputs after the same words.
  const both = t.positive.find((p) => t.negative.includes(p));
  return both === undefined
    ? null
    : `positive (--positive) and negative (--negative) both contain "${both}"; the model could not tell them apart`;
}

export function validateHindsightTemplates(t: HindsightTemplates): void {
  const msg = checkHindsightTemplates(t);
  if (msg) throw new Error(msg);
}

export const hindsightOptions = mergeOptions(
  mergeOptions(
    defineOptions(
      {
        positive: {
          type: 'strings',
          flag: '--positive',
          help:
            'phrases before the better output, comma-separated or repeated ("\\," is a comma in a phrase); the ' +
            'first is the one to generate with',
          default: ['A good answer:', 'A helpful answer:'],
          min: 1,
          commas: true,
        },
        negative: {
          type: 'strings',
          flag: '--negative',
          help: 'phrases before the worse output, as --positive',
          default: ['A worse answer:', 'A less helpful answer:'],
          min: 1,
          commas: true,
        },
        separator: {
          type: 'string',
          flag: '--separator',
          help: 'put before every phrase and before written feedback',
          default: ' ',
        },
        feedbackPrefix: {
          type: 'string',
          flag: '--feedback-prefix',
          help: "introduces a comparison's written feedback, before the negative phrase",
          default: 'Feedback:',
        },
        betterFirstShare: {
          type: 'number',
          flag: '--better-first',
          help:
            'share of sequences with the better output first, right after the prompt as at generation (0.5: the ' +
            "paper's random order; 1: always)",
          default: 0.5,
          min: 0,
          max: 1,
        },
      },
      [checkHindsightTemplates],
    ),
    reviseOptions(epochOptimOptions('the training comparisons'), {
      batchSize: { help: 'comparisons (sequences) per step', default: 16 },
      lr: { default: 1e-4 },
      warmupSteps: { default: 10 },
      weightDecay: { default: 0 },
    }),
  ),
  loraOptions,
);

export type HindsightOptions = ValuesOf<typeof hindsightOptions.spec>;

export interface HindsightConfig extends HindsightOptions {
  outDir: string;
  /** Stop (and save) after this many steps, to be resumed. */
  stopAfter?: number;
}

export const defaultHindsightConfig: HindsightOptions = hindsightOptions.defaults();

export const defaultHindsightTemplates: HindsightTemplates = {
  positive: defaultHindsightConfig.positive,
  negative: defaultHindsightConfig.negative,
  separator: defaultHindsightConfig.separator,
  feedbackPrefix: defaultHindsightConfig.feedbackPrefix,
};
