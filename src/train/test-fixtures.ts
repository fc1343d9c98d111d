// Shared set-up of the trainers' tests (not a test itself): a tiny policy that writes random
// letters a–e, so that a known reward ("more a") has something to move.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RNG } from '../engine/rng.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { CausalLM } from '../model/causal-lm.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { defaultSFTConfig } from './sft-config.js';
import { trainSFT } from './sft.js';

/** A quick SFT of the tiny preset on space-separated random letters; `dir` is its checkpoint. */
export function letterPolicy(steps = 60): { dir: string; model: CausalLM; tok: Tokenizer } {
  const root = mkdtempSync(join(tmpdir(), 'rlhf-letters-'));
  const rng = new RNG(2);
  writeFileSync(join(root, 'letters.txt'), Array.from({ length: 3000 }, () => 'abcde'[rng.int(5)]).join(' '));
  const dir = join(root, 'sft');
  trainSFT(
    {
      ...defaultSFTConfig,
      data: join(root, 'letters.txt'),
      outDir: dir,
      preset: 'tiny',
      vocabSize: 262,
      contextLength: 32,
      batchSize: 16,
      steps,
      lr: 1e-2,
      warmupSteps: 5,
      evalEvery: 0,
      quiet: true,
    },
    () => {},
  );
  const ck = loadCheckpoint(dir);
  return { dir, model: ck.model, tok: ck.tokenizer! };
}

/** Reward of the tests: the number of "a" in the completion. */
export const countA = (items: { completion: string }[]) => items.map((it) => (it.completion.match(/a/g) ?? []).length);
