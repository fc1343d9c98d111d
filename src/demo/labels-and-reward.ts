// The stages between the SFT policy and the methods: pairs sampled from SFT, the simulated labelers'
// judgments of them, and the reward model trained on those labels (checked against the gold judge).

import { join } from 'node:path';
import { scoreRewards } from '../runtime/reward.js';
import { defaultLabelers, labelAgreement, simulateLabels } from '../tasks/index.js';
import { splitComparisons, trainRewardModel } from '../train/reward.js';
import { type DemoContext, loadPolicyDir, readComparisonsFile, readOwnJsonl, writeJsonlSync } from './context.js';
import { sampleCompletions } from './evaluate.js';

export async function samplePairs(ctx: DemoContext, dir: string) {
  const { cfg, task, runner } = ctx;
  const { model, tok } = loadPolicyDir(runner.dir('sft'));
  const prompts = task.trainPrompts.slice(0, cfg.pairPrompts);
  const samples = await sampleCompletions(await ctx.generatorFor(model, tok), tok, prompts, 2, {
    maxNewTokens: task.generation.maxNewTokens,
    nPositions: model.config.nPositions,
    stop: task.generation.stop,
    seed: cfg.seed + 11,
  });
  const pairs = prompts
    .map((prompt, i) => ({ prompt, a: samples[i][0].text, b: samples[i][1].text }))
    .filter((p) => p.a.trim().length > 0 && p.b.trim().length > 0 && p.a !== p.b);
  writeJsonlSync(join(dir, 'pairs.jsonl'), pairs);
  return { prompts: prompts.length, pairs: pairs.length };
}

export interface LabelsResult {
  comparisons: number;
  trainComparisons: number;
  evalComparisons: number;
  labelers: { id: string; beta: number; careless: number }[];
  /** Labels' agreement with the gold judge's preference, and between two labelers of the same pair. */
  agreement: {
    withGold: number;
    betweenLabelers: number | null;
    perLabeler: Record<string, { n: number; withGold: number }>;
  };
}

export function labelPairs(ctx: DemoContext, dir: string): LabelsResult {
  const { cfg, task, runner } = ctx;
  const pairs = readOwnJsonl<{ prompt: string; a: string; b: string }>(join(runner.dir('pairs'), 'pairs.jsonl'));
  const labelers = defaultLabelers();
  // Two labelers on the first overlapPairs pairs (for their agreement), one on the rest, as a
  // labeling project with partial overlap would.
  const comps = [
    ...simulateLabels(pairs.slice(0, cfg.overlapPairs), task.gold, labelers, { seed: cfg.seed + 23, perPair: 2 }),
    ...simulateLabels(pairs.slice(cfg.overlapPairs), task.gold, labelers, { seed: cfg.seed + 24, perPair: 1 }),
  ];
  // Split by prompt, so no held-out pair's prompt is seen in training.
  const { train, eval: ev } = splitComparisons(comps, 0.1);
  writeJsonlSync(join(dir, 'labels.jsonl'), comps);
  writeJsonlSync(join(dir, 'train.jsonl'), train);
  writeJsonlSync(join(dir, 'eval.jsonl'), ev);
  return {
    comparisons: comps.length,
    trainComparisons: train.length,
    evalComparisons: ev.length,
    labelers: labelers.map((l) => ({ id: l.id, beta: l.beta, careless: l.careless })),
    agreement: labelAgreement(comps, task.gold),
  };
}

export interface RewardStageResult {
  /** Accuracy on held-out labels (noisy, as labelers gave them). */
  accuracyVsLabels: number | null;
  /** Accuracy against the gold judge's own preference, on fresh SFT pairs of held-out prompts. */
  accuracyVsGold: number;
  goldPairs: number;
  parameters: number;
}

export async function trainReward(ctx: DemoContext, dir: string): Promise<RewardStageResult> {
  const { cfg, task, runner, log } = ctx;
  const train = readComparisonsFile(join(runner.dir('labels'), 'train.jsonl'));
  const ev = readComparisonsFile(join(runner.dir('labels'), 'eval.jsonl'));
  const { rm, result } = trainRewardModel(
    train,
    ev,
    { ...cfg.reward, outDir: dir, init: runner.dir('sft'), seed: cfg.seed },
    log,
  );
  // Accuracy against the gold judge on fresh pairs: SFT samples of held-out prompts, two by two,
  // leaving out the pairs the gold judge calls a tie.
  const { model, tok } = loadPolicyDir(runner.dir('sft'));
  const prompts = task.eval.map((e) => e.prompt);
  const k = cfg.rewardEvalSamples;
  const samples = await sampleCompletions(await ctx.generatorFor(model, tok), tok, prompts, k, {
    maxNewTokens: task.generation.maxNewTokens,
    nPositions: model.config.nPositions,
    stop: task.generation.stop,
    seed: cfg.seed + 41,
  });
  const pairs: { prompt: string; a: string; b: string; goldA: boolean }[] = [];
  prompts.forEach((prompt, i) => {
    for (let j = 0; j + 1 < k; j += 2) {
      const a = samples[i][j].text,
        b = samples[i][j + 1].text;
      const ga = task.gold.score(prompt, a),
        gb = task.gold.score(prompt, b);
      if (ga !== gb) pairs.push({ prompt, a, b, goldA: ga > gb });
    }
  });
  const sa = scoreRewards(
    rm,
    pairs.map((p) => ({ prompt: p.prompt, completion: p.a })),
  );
  const sb = scoreRewards(
    rm,
    pairs.map((p) => ({ prompt: p.prompt, completion: p.b })),
  );
  let right = 0;
  pairs.forEach((p, i) => {
    if (sa[i] > sb[i] === p.goldA) right++;
  });
  const accuracyVsGold = pairs.length ? right / pairs.length : NaN;
  log(
    `reward: accuracy against the gold judge ${(100 * accuracyVsGold).toFixed(1)}% on ${pairs.length} fresh ` +
      `held-out pairs`,
  );
  return {
    accuracyVsLabels: result.eval?.accuracy ?? null,
    accuracyVsGold,
    goldPairs: pairs.length,
    parameters: result.parameters,
  };
}
