// train_config.json: what a `rlhf train …` run was asked to do, written into --out before it starts, so
// that a run directory says how it was made (`rlhf board` shows it and compares two runs by it). The
// checkpoint's config.json says what the model is; this says how the run was configured.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../model/checkpoint.js';
import type { Options, OptionsSpec, ValuesOf } from '../train/options.js';
import { attributeOf, readOptions } from './options.js';

export const TRAIN_CONFIG_FILE = 'train_config.json';

export interface TrainConfigFile {
  /** The subcommand of `rlhf train` (sft, reward, ppo, grpo, …). */
  trainer: string;
  /** The command line after `rlhf`. */
  argv: string[];
  /** Every declared option of the trainer, defaults included, by its name in the code (lr, batchSize, …). */
  options: Record<string, unknown>;
  /** The other flags given (files and models: --init, --prompts, --reward, …), by commander's names. */
  inputs: Record<string, unknown>;
  /** When this process started the run (ISO time); a resumed run rewrites the file. */
  started_at: string;
}

/**
 * readOptions for a trainer, then train_config.json in `parsed.out`: the validated configuration and the
 * inputs, written before anything is trained (a resumed run rewrites it with its own command line).
 */
export function readTrainOptions<S extends OptionsSpec>(
  trainer: string,
  opts: Options<S>,
  parsed: Record<string, unknown>,
): ValuesOf<S> {
  const cfg = readOptions(opts, parsed);
  const declared = new Set(Object.entries(opts.spec).map(([k, o]) => attributeOf(k, o)));
  const inputs = Object.fromEntries(
    Object.entries(parsed).filter(([k, v]) => !declared.has(k) && v !== undefined && typeof v !== 'function'),
  );
  const file: TrainConfigFile = {
    trainer,
    argv: process.argv.slice(2),
    options: cfg as Record<string, unknown>,
    inputs,
    started_at: new Date().toISOString(),
  };
  const out = String(parsed.out);
  mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, TRAIN_CONFIG_FILE), JSON.stringify(file, null, 2) + '\n');
  return cfg;
}
