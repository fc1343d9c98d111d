// `rlhf demo`: the whole system on one built-in task, end to end, every stage cached in the output
// directory so a rerun resumes. Pretraining → SFT → pairs sampled from SFT → simulated labelers →
// reward model → best-of-N, PPO, ReST, Chain of Hindsight and DPO from the same SFT policy →
// evaluation by the gold judge → report.html and summary.json.

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Comparison } from '../data/comparison.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import { RewardModel } from '../model/reward-model.js';
import { Tokenizer } from '../model/tokenizer/index.js';
import { GPT } from '../model/gpt.js';
import { TaskSpec, defaultLabelers, labelAgreement, loadTask, simulateLabels } from '../tasks/index.js';
import { trainSFT } from '../train/sft.js';
import { splitComparisons, trainRewardModel } from '../train/reward.js';
import { DemoConfig, fingerprint } from './config.js';
import { sampleCompletions } from './evaluate.js';
import { RewardFn, rewardModelFn } from '../judge/reward-fn.js';
import { Generator, LocalGenerator } from '../train/generator.js';
import { RemoteGenerator } from '../remote/generator-client.js';
import { remoteRewardFn } from '../remote/reward-client.js';
import { httpOptionsFromEnv } from '../remote/http.js';
import { runMethods } from './methods.js';
import { StagePlan, StageRunner, fmt } from './stages.js';
import { DemoSummary, writeReport } from './report.js';

export interface DemoContext {
  cfg: DemoConfig;
  task: TaskSpec;
  runner: StageRunner;
  log: (m: string) => void;
  /** What samples a policy: the built-in engine, or --generator's server with the policy's weights sent to it. */
  generatorFor: (model: GPT, tok: Tokenizer) => Promise<Generator>;
  /** The reward model as a reward function: the checkpoint in DIR/reward, or --scorer's server. */
  proxy: () => RewardFn;
}

/** Planned seconds of each stage on 2 cores (full run); --quick scales them down. */
const PLAN: StagePlan[] = [
  { name: 'data', title: 'task data', estimate: 5 },
  { name: 'pretrain', title: 'tokenizer and pretraining on the corpus', estimate: 155 },
  { name: 'sft', title: 'supervised fine-tuning on demonstrations', estimate: 40 },
  { name: 'pairs', title: 'sampling pairs from the SFT policy', estimate: 25 },
  { name: 'labels', title: 'simulated labelers judge the pairs', estimate: 3 },
  { name: 'reward', title: 'reward model on the labels', estimate: 110 },
  { name: 'best-of-n', title: 'best-of-N against the reward model', estimate: 60 },
  { name: 'ppo', title: 'PPO against the reward model', estimate: 130 },
  { name: 'overoptimization', title: 'PPO without the KL penalty (the over-optimization run)', estimate: 100 },
  { name: 'rest', title: 'ReST (grow, then improve on rising thresholds)', estimate: 65 },
  { name: 'hindsight', title: 'Chain of Hindsight on the labels', estimate: 80 },
  { name: 'dpo', title: 'DPO on the labels', estimate: 115 },
  { name: 'evaluate', title: 'evaluation by the gold judge', estimate: 15 },
  { name: 'report', title: 'report', estimate: 5 },
];

/** What a user should know before a long run of a task (measured; see the README's "`rlhf demo`: measured"). */
const TASK_NOTES: Partial<Record<string, string>> = {
  tldr: 'at this model size the SFT policy does not learn to summarize (its summaries almost all fail the gold judge), so the labels carry little signal and no method moves the gold score; the full run took 20.5 minutes here (the positive task: 13.5)',
};

/** Runs the demo in cfg.outDir; `fresh` first deletes what an earlier run left there (under the lock). */
export async function runDemo(
  cfg: DemoConfig,
  log: (m: string) => void,
  opts: { fresh?: boolean } = {},
): Promise<DemoSummary> {
  mkdirSync(cfg.outDir, { recursive: true });
  const unlock = lockDir(cfg.outDir);
  try {
    if (opts.fresh) {
      for (const e of readdirSync(cfg.outDir))
        if (e !== 'demo.lock') rmSync(join(cfg.outDir, e), { recursive: true, force: true });
    }
    return await runLocked(cfg, log);
  } finally {
    unlock();
  }
}

/**
 * One demo at a time in a directory: two would train into the same stage directories. The lock
 * file holds the owner's pid; one left by a process that is gone (killed) is taken over.
 */
function lockDir(dir: string): () => void {
  const file = join(dir, 'demo.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new Error(
          `another rlhf demo (pid ${pid}) is running in ${dir}; wait for it, stop it, or choose another --out`,
        );
      }
      rmSync(file, { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function runLocked(cfg: DemoConfig, log: (m: string) => void): Promise<DemoSummary> {
  checkFingerprint(cfg);
  const t0 = Date.now();
  const task = loadTask(cfg.task, { seed: cfg.seed, quick: cfg.quick });
  const plan = cfg.quick ? PLAN.map((p) => ({ ...p, estimate: p.estimate / 8 })) : PLAN;
  const runner = new StageRunner(cfg.outDir, plan, log);
  const ctx: DemoContext = {
    cfg,
    task,
    runner,
    log,
    generatorFor: generatorFactory(cfg, log),
    proxy: () => proxyFn(cfg, runner),
  };
  if (cfg.scorer && !runner.finished('reward')) {
    throw new Error(
      `--scorer ${cfg.scorer} would score with the demo's reward model, which ${join(cfg.outDir, 'reward')} does not hold yet; ` +
        `run the demo once without --scorer (at least through its reward stage), then serve that model with \`rlhf serve-reward --model ${join(cfg.outDir, 'reward')}\``,
    );
  }
  log(`demo: task "${task.name}" (${task.description}); ${cfg.quick ? 'quick' : 'full'} run in ${cfg.outDir}`);
  if (TASK_NOTES[task.name]) log(`demo: note: ${TASK_NOTES[task.name]}`);

  await runner.run('data', (dir) => writeTaskData(task, dir));
  await runner.run('pretrain', (dir) => {
    const r = trainSFT(
      { ...cfg.pretrain, data: join(runner.dir('data'), 'corpus.jsonl'), outDir: dir, seed: cfg.seed },
      log,
    );
    return {
      parameters: r.parameters,
      tokens: r.trainSize,
      finalLoss: r.finalLoss,
      evalLoss: r.lastEval['eval/loss'] ?? null,
    };
  });
  await runner.run('sft', (dir) => {
    const r = trainSFT(
      {
        ...cfg.sft,
        data: join(runner.dir('data'), 'sft.jsonl'),
        init: runner.dir('pretrain'),
        outDir: dir,
        seed: cfg.seed,
      },
      log,
    );
    return { examples: r.trainSize, finalLoss: r.finalLoss, evalLoss: r.lastEval['eval/loss'] ?? null };
  });
  await runner.run('pairs', (dir) => samplePairs(ctx, dir));
  const labels = await runner.run('labels', (dir) => labelPairs(ctx, dir));
  const reward = await runner.run('reward', (dir) => trainReward(ctx, dir));
  const methods = await runMethods(ctx);
  const summary = await runner.run('report', () => writeReport(ctx, { labels, reward, methods }));
  log(`demo: finished in ${fmt((Date.now() - t0) / 1000)}; open ${join(cfg.outDir, 'report.html')}`);
  return summary;
}

/** A directory holds one demo's settings: resuming under other settings would mix two runs. */
function checkFingerprint(cfg: DemoConfig): void {
  const file = join(cfg.outDir, 'demo.json');
  const fp = fingerprint(cfg);
  if (existsSync(file)) {
    const prev = JSON.parse(readFileSync(file, 'utf8')).settings;
    if (JSON.stringify(prev) !== fp) {
      throw new Error(
        `${cfg.outDir} holds a demo run with other settings (${describeDiff(JSON.parse(fp), prev)}); pass --fresh to start over there, or choose another --out`,
      );
    }
    return;
  }
  writeFileSync(
    file,
    JSON.stringify({ settings: JSON.parse(fp), createdAt: new Date().toISOString() }, null, 2) + '\n',
  );
}

function describeDiff(now: Record<string, unknown>, prev: Record<string, unknown>): string {
  const keys = Object.keys({ ...now, ...prev }).filter((k) => JSON.stringify(now[k]) !== JSON.stringify(prev[k]));
  return keys
    .slice(0, 4)
    .map((k) => `${k}: ${JSON.stringify(prev[k])} before, ${JSON.stringify(now[k])} now`)
    .join('; ');
}

// ---- stages ----

function writeJsonlSync(path: string, records: unknown[]): void {
  writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

function writeTaskData(task: TaskSpec, dir: string) {
  writeJsonlSync(
    join(dir, 'corpus.jsonl'),
    task.corpus.map((text) => ({ text })),
  );
  writeJsonlSync(join(dir, 'sft.jsonl'), task.sft);
  writeJsonlSync(
    join(dir, 'prompts.jsonl'),
    task.trainPrompts.map((prompt) => ({ prompt })),
  );
  writeJsonlSync(join(dir, 'eval.jsonl'), task.eval);
  return {
    corpusDocuments: task.corpus.length,
    corpusChars: task.corpus.reduce((a, t) => a + t.length, 0),
    sftExamples: task.sft.length,
    trainPrompts: task.trainPrompts.length,
    evalPrompts: task.eval.length,
  };
}

export function loadPolicyDir(dir: string): { model: GPT; tok: Tokenizer } {
  const ck = loadCheckpoint(dir);
  if (!ck.tokenizer) throw new Error(`${dir}: checkpoint without tokenizer.json`);
  return { model: ck.model, tok: ck.tokenizer };
}

async function samplePairs(ctx: DemoContext, dir: string) {
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

/** A JSONL file an earlier stage of this demo wrote (trusted: not validated again). */
function readOwnJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

export function readComparisonsFile(path: string): Comparison[] {
  return readOwnJsonl<Comparison>(path);
}

function labelPairs(ctx: DemoContext, dir: string): LabelsResult {
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

async function trainReward(ctx: DemoContext, dir: string): Promise<RewardStageResult> {
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
  const sa = rm.score(pairs.map((p) => ({ prompt: p.prompt, completion: p.a })));
  const sb = rm.score(pairs.map((p) => ({ prompt: p.prompt, completion: p.b })));
  let right = 0;
  pairs.forEach((p, i) => {
    if (sa[i] > sb[i] === p.goldA) right++;
  });
  const accuracyVsGold = pairs.length ? right / pairs.length : NaN;
  log(
    `reward: accuracy against the gold judge ${(100 * accuracyVsGold).toFixed(1)}% on ${pairs.length} fresh held-out pairs`,
  );
  return {
    accuracyVsLabels: result.eval?.accuracy ?? null,
    accuracyVsGold,
    goldPairs: pairs.length,
    parameters: result.parameters,
  };
}

/**
 * With --generator, sampling goes to that server (OpenAI completions API), which must take weights
 * (`rlhf serve-model --accept-weights`): each policy's weights are sent before it samples.
 */
/** Completions sampled together (one request to a server). */
const SAMPLE_BATCH = 64;

function generatorFactory(cfg: DemoConfig, log: (m: string) => void): DemoContext['generatorFor'] {
  let remote: RemoteGenerator | undefined;
  return async (model, tok) => {
    if (!cfg.generator) return new LocalGenerator(model, tok, { batchSize: SAMPLE_BATCH });
    // The same chunks as the built-in engine's, so our own server samples exactly what it would.
    remote ??= new RemoteGenerator(cfg.generator, { ...httpOptionsFromEnv(), log, batchSize: SAMPLE_BATCH });
    if (!(await remote.syncPolicy(model))) {
      throw new Error(
        `${remote.name} does not take weights, so it cannot sample the demo's policies; start it with \`rlhf serve-model --model ${join(cfg.outDir, 'sft')} --accept-weights\` (or any checkpoint of the demo's size)`,
      );
    }
    return remote;
  };
}

function proxyFn(cfg: DemoConfig, runner: StageRunner): RewardFn {
  return cfg.scorer
    ? remoteRewardFn(cfg.scorer, httpOptionsFromEnv())
    : rewardModelFn(loadRewardModel(runner.dir('reward')));
}

export function loadRewardModel(dir: string): RewardModel {
  return RewardModel.fromCheckpoint(loadCheckpoint(dir));
}
