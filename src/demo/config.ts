// Settings of `rlhf demo`: one preset for the full run (under 15 minutes on 2 cores) and one for
// `--quick` (under 3 minutes, a smoke test of the whole pipeline). Every field has a doc line; the
// fields that change results are fingerprinted, so a rerun in the same directory resumes only when
// they match.

import { TaskName } from '../tasks/index.js';

export interface DemoConfig {
  task: TaskName;
  outDir: string;
  quick: boolean;
  seed: number;
  /** Model size of every policy and the reward model (see PRESETS). */
  preset: string;
  /** BPE vocabulary trained on the task's corpus. */
  vocabSize: number;
  /** Training sequence length of pretraining and SFT. */
  contextLength: number;
  /** Optimizer steps of pretraining on the corpus, and of SFT on the demonstrations. */
  pretrainSteps: number;
  sftSteps: number;
  /** Training prompts sampled twice by the SFT policy to make pairs for the simulated labelers. */
  pairPrompts: number;
  /** Of those pairs, how many two labelers judge (overlap, so their agreement can be measured); one labeler judges the rest. */
  overlapPairs: number;
  /** Passes of the reward model over the labels, and its peak learning rate. */
  rewardEpochs: number;
  rewardLr: number;
  /** SFT samples of each held-out prompt, paired two by two, on which the reward model's accuracy against gold is measured. */
  rewardEvalSamples: number;
  /** Best-of-N at these N (the over-optimization curve); the summary reports the largest. */
  bestOfN: number[];
  /** PPO: the adaptive KL controller moves β toward targetKL nats per sequence, at a pace set by horizon (rollouts). */
  ppo: {
    iterations: number;
    rolloutBatch: number;
    minibatch: number;
    lr: number;
    initKL: number;
    targetKL: number;
    horizon: number;
  };
  /**
   * The over-optimization run: PPO against the same reward model with no KL penalty and a larger
   * step, far past where gold stops following the proxy. It only draws the figure; no method uses it.
   */
  overoptimization: { iterations: number; rolloutBatch: number; minibatch: number; lr: number };
  rest: { grows: number; percentiles: number[]; samplesPerPrompt: number; prompts: number; lr: number };
  dpo: { beta: number; epochs: number; lr: number };
  /** Chain of Hindsight; betterFirstShare 1 puts the better output right after the prompt, where generation puts it. */
  hindsight: { epochs: number; lr: number; betterFirstShare: number };
  /** Held-out prompts every method is evaluated on. */
  evalPrompts: number;
  /** Sample outputs shown side by side in the report. */
  reportSamples: number;
  /** OpenAI-compatible completions server that samples instead of the built-in engine (it must take weights). */
  generator?: string;
  /** `rlhf serve-reward` URL that scores instead of the reward model in DIR/reward. */
  scorer?: string;
}

const FULL: Omit<DemoConfig, 'task' | 'outDir' | 'quick' | 'seed'> = {
  preset: 'small',
  vocabSize: 1024,
  contextLength: 64,
  pretrainSteps: 1200,
  sftSteps: 250,
  pairPrompts: 4000,
  overlapPairs: 800,
  rewardEpochs: 1,
  rewardLr: 1e-3,
  rewardEvalSamples: 8,
  bestOfN: [1, 2, 4, 8, 16, 32],
  ppo: { iterations: 32, rolloutBatch: 64, minibatch: 16, lr: 1e-4, initKL: 0.1, targetKL: 8, horizon: 256 },
  overoptimization: { iterations: 24, rolloutBatch: 64, minibatch: 16, lr: 3e-4 },
  rest: { grows: 2, percentiles: [50, 75, 90], samplesPerPrompt: 8, prompts: 300, lr: 1e-4 },
  dpo: { beta: 0.1, epochs: 1, lr: 1e-4 },
  hindsight: { epochs: 1, lr: 3e-4, betterFirstShare: 1 },
  evalPrompts: 300,
  reportSamples: 8,
};

const QUICK: typeof FULL = {
  preset: 'mini',
  vocabSize: 512,
  contextLength: 64,
  pretrainSteps: 120,
  sftSteps: 60,
  pairPrompts: 200,
  overlapPairs: 50,
  rewardEpochs: 1,
  rewardLr: 1e-3,
  rewardEvalSamples: 4,
  bestOfN: [1, 2, 4],
  ppo: { iterations: 4, rolloutBatch: 16, minibatch: 8, lr: 1e-4, initKL: 0.1, targetKL: 8, horizon: 256 },
  overoptimization: { iterations: 4, rolloutBatch: 16, minibatch: 8, lr: 3e-4 },
  rest: { grows: 1, percentiles: [50, 75], samplesPerPrompt: 4, prompts: 40, lr: 1e-4 },
  dpo: { beta: 0.1, epochs: 1, lr: 1e-4 },
  hindsight: { epochs: 1, lr: 3e-4, betterFirstShare: 1 },
  evalPrompts: 40,
  reportSamples: 4,
};

/** Training sequence length each task needs: tl;dr's passages are longer than positive's prompts. */
const CONTEXT: Record<TaskName, number> = { positive: 64, tldr: 128 };

export function demoConfig(o: {
  task: TaskName;
  outDir: string;
  quick: boolean;
  seed: number;
  generator?: string;
  scorer?: string;
}): DemoConfig {
  return { ...(o.quick ? QUICK : FULL), contextLength: CONTEXT[o.task], ...o };
}

/** The fields that change results, as a stable string: a cached stage is reused only under the same. */
export function fingerprint(c: DemoConfig): string {
  // Where sampling and scoring run does not change results (our own servers answer what the built-in
  // engine would), so a run may resume with or without --generator and --scorer.
  const { outDir: _o, generator: _g, scorer: _s, ...rest } = c;
  return JSON.stringify(rest);
}
