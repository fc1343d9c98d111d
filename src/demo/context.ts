// What every stage of the demo gets (the settings, the task, the stage runner, how to sample and how to
// score with the proxy), and the readers and writers of the files the stages leave in the output directory.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Comparison } from '../data/comparison.js';
import type { RewardFn } from '../train/reward-fn.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import { RewardModel } from '../model/reward-model.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import type { TaskSpec } from '../tasks/index.js';
import type { Generator } from '../train/generator.js';
import type { DemoConfig } from './config.js';
import type { StageRunner } from './stages.js';

export interface DemoContext {
  cfg: DemoConfig;
  task: TaskSpec;
  runner: StageRunner;
  log: (m: string) => void;
  /** What samples a policy: the built-in engine, or --generator's server with the policy's weights sent to it. */
  generatorFor: (model: CausalLM, tok: Tokenizer) => Promise<Generator>;
  /** The reward model as a reward function: the checkpoint in DIR/reward, or --scorer's server. */
  proxy: () => RewardFn;
}

export function writeJsonlSync(path: string, records: unknown[]): void {
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** A JSONL file an earlier stage of this demo wrote (trusted: not validated again). */
export function readOwnJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

export function readComparisonsFile(path: string): Comparison[] {
  return readOwnJsonl<Comparison>(path);
}

export function loadPolicyDir(dir: string): { model: CausalLM; tok: Tokenizer } {
  const ck = loadCheckpoint(dir);
  if (!ck.tokenizer) throw new Error(`${dir}: checkpoint without tokenizer.json`);
  return { model: ck.model, tok: ck.tokenizer };
}

export function loadRewardModel(dir: string): RewardModel {
  return RewardModel.fromCheckpoint(loadCheckpoint(dir));
}
