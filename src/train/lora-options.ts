// LoRA options, declared once for every trainer (sft, reward, dpo, ppo, rest, hindsight): each merges
// this group into its declaration. With --lora-rank, the trainer attaches adapters to the model it
// starts from (--init), trains only them (and a head), and saves them in PEFT's layout naming --init
// as the base model; a resumed run puts its saved adapters back (model/lora.ts, model/peft.ts,
// model/adapter-checkpoint.ts).

import { hasAdapterTrainingState, restoreAdapterCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { ScalarHead } from '../model/heads.js';
import { ALL_LINEAR, type LoraState, attachLora, loraOf, loraParams } from '../model/lora.js';
import { type ValuesOf, defineOptions } from './options.js';

export const loraOptions = defineOptions(
  {
    loraRank: {
      type: 'int',
      flag: '--lora-rank',
      help: 'train LoRA adapters of this rank on the --init model instead of every weight (0 = full fine-tuning)',
      default: 0,
      min: 0,
    },
    loraAlpha: {
      type: 'number',
      flag: '--lora-alpha',
      help: "LoRA's alpha: updates are scaled by alpha / rank (PEFT's default 8, whatever the rank)",
      default: 8,
      above: 0,
    },
    loraDropout: {
      type: 'number',
      flag: '--lora-dropout',
      help: "dropout on the adapters' input while training (PEFT's lora_dropout)",
      default: 0,
      min: 0,
      below: 1,
    },
    loraTargets: {
      type: 'strings',
      flag: '--lora-targets',
      help:
        `modules to adapt, by name or name suffix as PEFT matches them (c_attn; q_proj,v_proj; mlp.c_proj), or ` +
        `${ALL_LINEAR} (default: PEFT's for the architecture: c_attn for GPT-2, q_proj,v_proj for Llama and Qwen)`,
      default: [],
      commas: true,
    },
  },
  [
    (c) =>
      c.loraRank === 0 && (c.loraAlpha !== 8 || c.loraDropout !== 0 || c.loraTargets.length > 0)
        ? '--lora-alpha, --lora-dropout and --lora-targets shape LoRA adapters: give --lora-rank too (now 0, ' +
          'full fine-tuning)'
        : null,
  ],
);

export type LoraOptions = ValuesOf<typeof loraOptions.spec>;

/**
 * Attaches the adapters the options ask for (none with loraRank 0) and reports what is trained.
 * The adapters' initialization and dropout follow `seed`.
 */
export function applyLora(
  model: CausalLM,
  o: LoraOptions & { seed: number },
  log: (m: string) => void = () => {},
): LoraState | null {
  if (o.loraRank === 0) return null;
  const state = attachLora(model, {
    rank: o.loraRank,
    alpha: o.loraAlpha,
    dropout: o.loraDropout,
    targets: o.loraTargets,
    seed: o.seed,
  });
  const trained = loraParams(model).reduce((a, p) => a + p.size, 0);
  const all = model.params.reduce((a, p) => a + p.size, 0);
  const leaves = [...new Set([...state.adapters.keys()].map((n) => n.split('.').pop()))];
  log(
    `lora: rank ${o.loraRank}, alpha ${o.loraAlpha} on ${state.adapters.size} modules (${leaves.join(', ')}): ` +
      `${trained.toLocaleString('en-US')} trainable parameters, ${((100 * trained) / all).toFixed(2)}% of ` +
      `${all.toLocaleString('en-US')}`,
  );
  return state;
}

/**
 * Resuming a LoRA run: puts the adapters (and heads) saved in outDir back into the model. Returns
 * false when there is nothing to resume (no LoRA, or no saved run in outDir).
 */
export function resumeLora(model: CausalLM, outDir: string, heads: ScalarHead[] = []): boolean {
  if (!loraOf(model) || !hasAdapterTrainingState(outDir)) return false;
  restoreAdapterCheckpoint(outDir, model, heads);
  return true;
}

/** The message for a LoRA run without a model to adapt. */
export function loraNeedsInit(what: string): Error {
  return new Error(`--lora-rank adapts a saved model: give ${what} (the base model's directory)`);
}
