// train_config.json: what a `rlhf train …` run was asked to do, written into --out once its inputs are
// read and before it trains, so that a run directory says how it was made (`rlhf board` shows it and
// compares two runs by it). The checkpoint's config.json says what the model is; this, how it was trained.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../model/checkpoint.js';
import type { Options, OptionsSpec } from '../train/options.js';
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
 * Writes `parsed.out`/train_config.json: the trainer's declared options as readOptions gives them (defaults
 * included) and the other flags. Called once the inputs are read, so a command that fails on a missing file
 * leaves no directory behind; a resumed run rewrites it with its own command line.
 */
export function writeTrainConfig<S extends OptionsSpec>(
  trainer: string,
  opts: Options<S>,
  parsed: Record<string, unknown>,
): void {
  const declared = new Set(Object.entries(opts.spec).map(([k, o]) => attributeOf(k, o)));
  const inputs = Object.fromEntries(
    Object.entries(parsed).filter(([k, v]) => !declared.has(k) && v !== undefined && typeof v !== 'function'),
  );
  const file: TrainConfigFile = {
    trainer,
    argv: process.argv.slice(2),
    options: readOptions(opts, parsed) as Record<string, unknown>,
    inputs,
    started_at: new Date().toISOString(),
  };
  const out = String(parsed.out);
  mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, TRAIN_CONFIG_FILE), JSON.stringify(file, null, 2) + '\n');
}
