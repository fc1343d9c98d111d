// `rlhf demo`: the whole system on one built-in task, end to end, every stage cached in the output
// directory so a rerun resumes. Pretraining → SFT → pairs sampled from SFT → simulated labelers →
// reward model → best-of-N, PPO, ReST, Chain of Hindsight and DPO from the same SFT policy →
// evaluation by the gold judge → report.html and summary.json.

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RewardFn, rewardModelFn } from '../train/reward-fn.js';
import { RemoteGenerator } from '../remote/generator-client.js';
import { httpOptionsFromEnv } from '../remote/http.js';
import { remoteRewardFn } from '../remote/reward-client.js';
import { type TaskSpec, loadTask } from '../tasks/index.js';
import { LocalGenerator } from '../train/generator.js';
import { trainSFT } from '../train/sft.js';
import { type DemoConfig, fingerprint } from './config.js';
import { type DemoContext, loadRewardModel, writeJsonlSync } from './context.js';
import { labelPairs, samplePairs, trainReward } from './labels-and-reward.js';
import { runMethods } from './methods.js';
import { type DemoSummary, writeReport } from './report.js';
import { type StagePlan, StageRunner, fmt } from './stages.js';

/** Planned seconds of each stage on 2 cores (the full run, as measured: docs/measurements.md); --quick scales them. */
const PLAN: StagePlan[] = [
  { name: 'data', title: 'task data', estimate: 1 },
  { name: 'pretrain', title: 'tokenizer and pretraining on the corpus', estimate: 90 },
  { name: 'sft', title: 'supervised fine-tuning on demonstrations', estimate: 21 },
  { name: 'pairs', title: 'sampling pairs from the SFT policy', estimate: 23 },
  { name: 'labels', title: 'simulated labelers judge the pairs', estimate: 3 },
  { name: 'reward', title: 'reward model on the labels', estimate: 45 },
  { name: 'best-of-n', title: 'best-of-N against the reward model', estimate: 28 },
  { name: 'ppo', title: 'PPO against the reward model', estimate: 53 },
  { name: 'overoptimization', title: 'PPO without the KL penalty (the over-optimization run)', estimate: 42 },
  { name: 'grpo', title: 'GRPO against the reward model', estimate: 38 },
  { name: 'rloo', title: 'RLOO against the reward model', estimate: 39 },
  { name: 'rest', title: 'ReST (grow, then improve on rising thresholds)', estimate: 31 },
  { name: 'hindsight', title: 'Chain of Hindsight on the labels', estimate: 35 },
  { name: 'dpo', title: 'DPO on the labels', estimate: 50 },
  { name: 'evaluate', title: 'evaluation by the gold judge', estimate: 12 },
  { name: 'report', title: 'report', estimate: 1 },
];

/** What a user should know before a long run of a task (measured; see docs/measurements.md). */
const TASK_NOTES: Partial<Record<string, string>> = {
  tldr:
    'at this model size the SFT policy does not learn to summarize (its summaries almost all fail the gold ' +
    'judge), so the labels carry little signal and no method moves the gold score; the full run took 20.5 ' +
    'minutes here (the positive task: 9.5)',
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
      `--scorer ${cfg.scorer} would score with the demo's reward model, which ${join(cfg.outDir, 'reward')} ` +
        `does not hold yet; ` +
        `run the demo once without --scorer (at least through its reward stage), then serve that model with ` +
        `\`rlhf serve-reward --model ${join(cfg.outDir, 'reward')}\``,
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
        `${cfg.outDir} holds a demo run with other settings (${describeDiff(JSON.parse(fp), prev)}); pass ` +
          `--fresh to start over there, or choose another --out`,
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
        `${remote.name} does not take weights, so it cannot sample the demo's policies; start it with \`rlhf ` +
          `serve-model --model ${join(cfg.outDir, 'sft')} --accept-weights\` (or any checkpoint of the demo's size)`,
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
